using System.Net;
using System.Text;

namespace StemeDb.Client.Tests;

/// <summary>Each status maps to the exception type a caller catches, from the problem body or without one.</summary>
public sealed class ProblemsTests
{
    [Theory]
    [InlineData(400, typeof(StemeDbInvalidInputException))]
    [InlineData(413, typeof(StemeDbInvalidInputException))]
    [InlineData(415, typeof(StemeDbInvalidInputException))]
    [InlineData(404, typeof(StemeDbNotFoundException))]
    [InlineData(503, typeof(StemeDbUnavailableException))]
    [InlineData(504, typeof(StemeDbTimeoutException))]
    [InlineData(502, typeof(StemeDbProblemException))]
    [InlineData(401, typeof(StemeDbProblemException))]
    public async Task A_status_is_its_exception_type(int status, Type expected)
    {
        using var response = new HttpResponseMessage((HttpStatusCode)status)
        {
            Content = new StringContent("{\"title\":\"T\",\"detail\":\"D\",\"status\":" + status + "}", Encoding.UTF8, "application/problem+json"),
        };
        response.Headers.Add("X-StemeDb-Node", "stemedb-node-2");
        StemeDbProblemException e = await Problems.FromResponseAsync(response, CancellationToken.None);
        Assert.Equal(expected, e.GetType());
        Assert.Equal((status, "T", "D", "stemedb-node-2"), (e.Status, e.Title, e.Detail, e.Node));
    }

    [Fact]
    public async Task An_answer_that_is_not_a_problem_keeps_its_text()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("upstream down") };
        StemeDbProblemException e = await Problems.FromResponseAsync(response, CancellationToken.None);
        Assert.Equal("upstream down", e.Detail);
        Assert.Equal("Bad Gateway", e.Title);
    }
}
