using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using StemeDb.Node.Tests;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium, driven through its chromedriver by Selenium): it
/// lists the live nodes, shows every range of the table, shows a split after one happens, and marks a
/// killed node dead within the detection time; the screenshot it takes is the README's picture
/// (<c>STEMEDB_SCREENSHOT_DIR</c> copies it there). <c>.ci/run</c> installs Chromium and requires the test
/// to run (<c>STEMEDB_REQUIRE_BROWSER=1</c>); elsewhere it is skipped, saying why, without a browser.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriverDirectory = "/usr/bin";

    [SkippableFact]
    public async Task The_dashboard_shows_the_members_every_range_a_split_and_a_death()
    {
        bool installed = File.Exists(Chromium) && File.Exists(Path.Combine(ChromeDriverDirectory, "chromedriver"));
        Assert.False(!installed && Environment.GetEnvironmentVariable("STEMEDB_REQUIRE_BROWSER") == "1", "STEMEDB_REQUIRE_BROWSER=1 but chromium or chromedriver is missing (apt-get install chromium chromium-driver)");
        Skip.IfNot(installed, "no browser here: apt-get install chromium chromium-driver to run the dashboard test");

        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls);
        await gateway.WaitReadyAsync();
        for (int i = 0; i < 40; i++)
        {
            using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", new StringContent($"{{\"subject\":\"user:{i}\",\"predicate\":\"name\",\"object\":\"n{i}\"}}", Encoding.UTF8, "application/json"));
            Assert.True(written.IsSuccessStatusCode);
        }

        using ChromeDriverService service = ChromeDriverService.CreateDefaultService(ChromeDriverDirectory, "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900", "--no-first-run");
        using var browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        browser.Navigate().GoToUrl(gateway.Url);

        int Count(string css) => browser.FindElements(By.CssSelector(css)).Count;
        string Page() => browser.FindElement(By.TagName("body")).Text;

        await Poll.UntilAsync(() => Task.FromResult(Count("[data-member][data-state='alive']") == 3), TimeSpan.FromSeconds(20), "three live members on the page", diagnostics: () => Task.FromResult(Page()));
        int tableRanges = (await gateway.Http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/ranges"))!.Count;
        await Poll.UntilAsync(() => Task.FromResult(Count("tr[data-range]") == tableRanges && Count("[data-range-cell]") == tableRanges), TimeSpan.FromSeconds(10), $"the {tableRanges} range(s) of the table", diagnostics: () => Task.FromResult(Page()));

        await cluster.SplitGenesisInHalfAsync();
        await Poll.UntilAsync(() => Task.FromResult(Count("tr[data-range]") == 2 && Count("[data-change='split']") >= 1), TimeSpan.FromSeconds(15), "two ranges and the split in the recent changes", diagnostics: () => Task.FromResult(Page()));

        await cluster.KillAsync(2);
        // Detection: SWIM's suspicion timeout on loopback timings plus the gateway's refresh, well within 20 s.
        await Poll.UntilAsync(() => Task.FromResult(Count("[data-member='stemedb-node-3'][data-state='dead']") == 1), TimeSpan.FromSeconds(20), "stemedb-node-3 marked dead", diagnostics: () => Task.FromResult(Page()));
        Assert.Equal(2, Count("[data-member][data-state='alive']"));
        // The death also arrived as an event of the stream (/v1/cluster/events), not only through the refresh.
        await Poll.UntilAsync(() => Task.FromResult(browser.FindElements(By.CssSelector("#events [data-change='dead']")).Count >= 1), TimeSpan.FromSeconds(10), "the dead event in the event list", diagnostics: () => Task.FromResult(Page()));

        string shot = Path.Combine(AppContext.BaseDirectory, "dashboard.png");
        browser.GetScreenshot().SaveAsFile(shot);
        Assert.True(new FileInfo(shot).Length > 10_000, "a screenshot with something in it");
        if (Environment.GetEnvironmentVariable("STEMEDB_SCREENSHOT_DIR") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            File.Copy(shot, Path.Combine(directory, "dashboard.png"), overwrite: true);
        }
    }
}
