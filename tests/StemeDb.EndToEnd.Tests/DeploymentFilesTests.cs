using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using StemeDb.Cluster.Configuration;
using StemeDb.Gateway;
using StemeDb.Node;
using static StemeDb.EndToEnd.Tests.Yaml;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// <c>dapr.yaml</c>, <c>components/</c> and <c>deploy/</c> cannot be run here (no daprd, no Kubernetes), so
/// they are checked against the apps: app-ids, ports, topics, the pub/sub name, annotations, and that
/// every node's settings bind to a valid configuration.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string[] NodeIds = ["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"];
    private static readonly string[] AppIds = [.. NodeIds, "stemedb-gateway"];
    private static readonly string[] Topics = [StemeDb.Contracts.Topics.Membership, StemeDb.Contracts.Topics.MetaRange];

    [Fact]
    public void Dapr_yaml_runs_one_app_id_per_node_and_a_gateway_with_agreeing_settings()
    {
        Dictionary<object, object> run = Document("dapr.yaml");
        Assert.Equal("1", At(run, "version").ToString());
        Assert.Equal(["./components"], List(run, "common", "resourcesPaths").Cast<string>());
        Assert.True(Directory.Exists(Path.Combine(BuiltApps.RepositoryRoot, "components")));
        Dictionary<string, string> common = Map(run, "common", "env").ToDictionary(e => (string)e.Key, e => (string)e.Value);
        Assert.Equal(NodeIds, Indexed(common, "Node__Genesis__"));
        Assert.Equal("Dapr", common["Node__Transport"]);

        List<Dictionary<object, object>> apps = [.. List(run, "apps").Cast<Dictionary<object, object>>()];
        Assert.Equal(AppIds, apps.Select(a => Text(a, "appID")));
        int firstSwimPort = 0;
        var swimPorts = new HashSet<string>();
        var appPorts = new HashSet<string>();
        foreach (Dictionary<object, object> app in apps)
        {
            string id = Text(app, "appID");
            string port = At(app, "appPort").ToString()!;
            Dictionary<string, string> env = Map(app, "env").ToDictionary(e => (string)e.Key, e => (string)e.Value);
            List<string> command = [.. List(app, "command").Cast<string>()];
            Assert.True(appPorts.Add(port), $"{id}: app port {port} is used twice");
            Assert.Equal($"http://127.0.0.1:{port}", command[command.IndexOf("--urls") + 1]);
            Assert.Equal("/healthz", Text(app, "appHealthCheckPath"));
            // The CLI ignores the path unless app health checks are on (daprd-behaviour §8).
            Assert.Equal("true", At(app, "enableAppHealthCheck").ToString()!.ToLowerInvariant());
            // The CLI starts the apps back to back: concurrent builds of one project directory collide.
            Assert.Equal(["dotnet", "run", "--no-build"], command.Take(3));
            string project = id == "stemedb-gateway" ? "StemeDb.Gateway" : "StemeDb.Node";
            Assert.True(File.Exists(Path.Combine(BuiltApps.RepositoryRoot, Text(app, "appDirPath"), project + ".csproj")), $"{id}: appDirPath holds {project}");
            if (id == "stemedb-gateway")
            {
                Assert.Equal("Dapr", env["Gateway__Transport"]);
                Assert.Equal(NodeIds, Indexed(env, "Gateway__Seeds__"));
                continue;
            }

            // Every setting of the node binds and validates, as the app would on start.
            IConfiguration settings = Settings(common.Concat(env));
            ClusterConfig cluster = ClusterConfig.Bind(settings);
            Assert.Equal(id, cluster.NodeId);
            Assert.True(swimPorts.Add(env["Cluster__Swim__BindPort"]), $"{id}: SWIM port used twice");
            Assert.Equal($"http://127.0.0.1:{port}", env["Node__HttpAddress"]);
            if (id == NodeIds[0])
            {
                firstSwimPort = cluster.Swim.BindPort;
                Assert.False(env.ContainsKey("Cluster__Swim__Seeds__0"), "the first node forms the cluster");
            }
            else
            {
                Assert.Equal($"127.0.0.1:{firstSwimPort}", env["Cluster__Swim__Seeds__0"]);
            }
        }
    }

    [Fact]
    public void The_pubsub_component_is_the_one_the_apps_use_scoped_to_their_topics()
    {
        foreach ((string file, string consumer) in new[] { ("components/pubsub.yaml", "{uuid}"), ("deploy/dapr-components.yaml", "{podName}") })
        {
            Dictionary<object, object> component = Documents(file).Single(d => Text(d, "kind") == "Component");
            Assert.Equal(new NodeOptions().PubSubName, Text(component, "metadata", "name"));
            Assert.Equal(new GatewayOptions().PubSubName, Text(component, "metadata", "name"));
            Assert.Equal("pubsub.redis", Text(component, "spec", "type"));
            Assert.Equal(AppIds, List(component, "scopes").Cast<string>());
            Dictionary<string, string> metadata = ComponentMetadata(component);
            Assert.Equal(consumer, metadata["consumerID"]); // one consumer group per instance: every gateway sees every update
            Assert.Equal(Topics, metadata["allowedTopics"].Split(',').Order());
            Dictionary<string, string[]> publishing = Scopes(metadata["publishingScopes"]);
            Dictionary<string, string[]> subscribing = Scopes(metadata["subscriptionScopes"]);
            foreach (string node in NodeIds)
            {
                Assert.Equal(Topics, publishing[node]);
                Assert.Equal([StemeDb.Contracts.Topics.MetaRange], subscribing[node]);
            }

            Assert.Empty(publishing["stemedb-gateway"]);
            Assert.Equal(Topics, subscribing["stemedb-gateway"]);
        }
    }

    [Fact]
    public void Resiliency_bounds_invocations_without_retrying_or_breaking_on_the_apps_answers_and_retries_deliveries()
    {
        foreach (string file in new[] { "components/resiliency.yaml", "deploy/dapr-components.yaml" })
        {
            Dictionary<object, object> resiliency = Documents(file).Single(d => Text(d, "kind") == "Resiliency");
            Assert.Equal(AppIds, List(resiliency, "scopes").Cast<string>());
            Dictionary<object, object> policies = Map(resiliency, "spec", "policies");
            Dictionary<object, object> apps = Map(resiliency, "spec", "targets", "apps");
            Assert.Equal(NodeIds, apps.Keys.Cast<string>().Order());
            foreach ((object id, object target) in apps)
            {
                // daprd counts every app answer outside 200-399 (a node's 421 and 503) for retries and
                // breakers (daprd-behaviour §2): the callers are the one retry layer.
                Dictionary<object, object> policy = (Dictionary<object, object>)target;
                Assert.False(policy.ContainsKey("retry"), $"{file}: {id} has an invocation retry");
                Assert.False(policy.ContainsKey("circuitBreaker"), $"{file}: {id} has an invocation breaker");
                TimeSpan timeout = Duration(Text(policies, "timeouts", Text(target, "timeout")));
                Assert.True(timeout > StemeDb.Node.PeerClient.PageTimeout, $"{file}: {id}'s invoke timeout {timeout} cuts the longest internal call ({StemeDb.Node.PeerClient.PageTimeout})");
                Assert.True(timeout > new GatewayOptions().RequestTimeout * 3, $"{file}: {id}'s invoke timeout {timeout} cuts the gateway's request budget");
            }

            Assert.False(Map(resiliency, "spec", "targets").ContainsKey("defaults"));
            Assert.DoesNotContain(Map(policies, "retries").Keys.Cast<string>(), k => k.StartsWith("Default", StringComparison.Ordinal));

            // Without an inbound retry a failed delivery is dropped (reference dapr.md §2, §7).
            string inbound = Text(resiliency, "spec", "targets", "components", new NodeOptions().PubSubName, "inbound", "retry");
            Assert.True(Map(policies, "retries").ContainsKey(inbound));
        }
    }

    [Fact]
    public void The_pub_sub_streams_are_bounded()
    {
        foreach (string file in new[] { "components/pubsub.yaml", "deploy/dapr-components.yaml" })
        {
            Dictionary<object, object> pubsub = Documents(file).Single(d => Text(d, "kind") == "Component" && Text(d, "spec", "type") == "pubsub.redis");
            Dictionary<string, string> metadata = ComponentMetadata(pubsub);
            Assert.True(int.TryParse(metadata.GetValueOrDefault("maxLenApprox"), out int maxLen) && maxLen > 0, $"{file}: the Redis streams are unbounded (no maxLenApprox)");
        }
    }

    /// <summary>A Dapr duration as the resiliency spec writes it: <c>40s</c>, <c>200ms</c>, <c>1m</c>.</summary>
    private static TimeSpan Duration(string text)
    {
        Match m = Regex.Match(text, "^([0-9]+)(ms|s|m|h)$");
        Assert.True(m.Success, $"'{text}' is not a duration");
        int n = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "ms" => TimeSpan.FromMilliseconds(n), "s" => TimeSpan.FromSeconds(n), "m" => TimeSpan.FromMinutes(n), _ => TimeSpan.FromHours(n) };
    }

    [Fact]
    public void Kubernetes_manifests_agree_with_the_apps_and_each_other()
    {
        Dictionary<object, object> kustomization = Document("deploy/kustomization.yaml");
        foreach (string resource in List(kustomization, "resources").Cast<string>())
        {
            Assert.True(File.Exists(Path.Combine(BuiltApps.RepositoryRoot, "deploy", resource)), $"kustomization lists {resource}, which is missing");
        }

        string dockerfile = File.ReadAllText(Path.Combine(BuiltApps.RepositoryRoot, "deploy", "Dockerfile"));
        List<Dictionary<object, object>> nodes = Documents("deploy/nodes.yaml");
        List<Dictionary<object, object>> sets = [.. nodes.Where(d => Text(d, "kind") == "StatefulSet")];
        Assert.Equal(NodeIds, sets.Select(s => Text(s, "metadata", "name")));
        foreach (Dictionary<object, object> set in sets)
        {
            string id = Text(set, "metadata", "name");
            Dictionary<object, object> pod = Map(set, "spec", "template");
            Dictionary<object, object> annotations = Map(pod, "metadata", "annotations");
            Dictionary<object, object> container = Map(pod, "spec", "containers", 0);
            Dictionary<string, string?> env = EnvList(At(container, "env"));
            string port = Text(annotations, "dapr.io/app-port");
            Assert.Equal(1, (int)long.Parse(At(set, "spec", "replicas").ToString()!, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("true", Text(annotations, "dapr.io/enabled"));
            Assert.Equal(id, Text(annotations, "dapr.io/app-id"));
            Assert.Equal(id, env["Cluster__NodeId"]);
            Assert.Equal($"http://0.0.0.0:{port}", env["ASPNETCORE_URLS"]);
            Assert.Equal($"http://$(POD_IP):{port}", env["Node__HttpAddress"]);
            Assert.Equal("Dapr", env["Node__Transport"]);
            Assert.Equal(NodeIds, Indexed(env, "Node__Genesis__"));
            Assert.Equal("/healthz", Text(annotations, "dapr.io/app-health-check-path"));
            Assert.Equal("/readyz", Text(container, "readinessProbe", "httpGet", "path"));
            Assert.Equal("/healthz", Text(container, "livenessProbe", "httpGet", "path"));
            Assert.Equal(port, At(container, "readinessProbe", "httpGet", "port").ToString());
            Assert.Equal(env["Storage__DataDirectory"], Text(container, "volumeMounts", 0, "mountPath"));
            Assert.Equal(Text(set, "spec", "volumeClaimTemplates", 0, "metadata", "name"), Text(container, "volumeMounts", 0, "name"));
            AssertPublished(dockerfile, List(container, "command").Cast<string>().ToList(), "StemeDb.Node");

            // The settings bind (secrets and the pod IP stand in as examples).
            IConfiguration settings = Settings(env.Select(e => new KeyValuePair<string, string>(e.Key, e.Value?.Replace("$(POD_IP)", "10.0.0.7", StringComparison.Ordinal) ?? (e.Key.Contains("Keys", StringComparison.Ordinal) ? Convert.ToBase64String(new byte[32]) : "10.0.0.7"))));
            ClusterConfig cluster = ClusterConfig.Bind(settings);

            // The headless Service exposes the SWIM port the node binds, over UDP, under the name seeds use.
            Dictionary<object, object> service = nodes.Single(d => Text(d, "kind") == "Service" && Text(d, "metadata", "name") == id);
            Assert.Equal(Text(set, "spec", "serviceName"), id);
            Assert.Equal("None", Text(service, "spec", "clusterIP"));
            Dictionary<object, object> swim = List(service, "spec", "ports").Cast<Dictionary<object, object>>().Single(p => Text(p, "name") == "swim");
            Assert.Equal(("UDP", cluster.Swim.BindPort.ToString(System.Globalization.CultureInfo.InvariantCulture)), (Text(swim, "protocol"), At(swim, "port").ToString()));
            if (id != NodeIds[0])
            {
                Assert.Equal($"{NodeIds[0]}-0.{NodeIds[0]}:{cluster.Swim.BindPort}", env["Cluster__Swim__Seeds__0"]);
            }
        }

        List<Dictionary<object, object>> gatewayDocs = Documents("deploy/gateway.yaml");
        Dictionary<object, object> gateway = gatewayDocs.Single(d => Text(d, "kind") == "Deployment");
        Dictionary<object, object> gatewayPod = Map(gateway, "spec", "template");
        Dictionary<object, object> gatewayContainer = Map(gatewayPod, "spec", "containers", 0);
        Dictionary<string, string?> gatewayEnv = EnvList(At(gatewayContainer, "env"));
        string gatewayPort = Text(gatewayPod, "metadata", "annotations", "dapr.io/app-port");
        Assert.Equal("stemedb-gateway", Text(gatewayPod, "metadata", "annotations", "dapr.io/app-id"));
        Assert.Equal($"http://0.0.0.0:{gatewayPort}", gatewayEnv["ASPNETCORE_URLS"]);
        Assert.Equal("Dapr", gatewayEnv["Gateway__Transport"]);
        Assert.Equal(NodeIds, Indexed(gatewayEnv, "Gateway__Seeds__"));
        Assert.Equal("/readyz", Text(gatewayContainer, "readinessProbe", "httpGet", "path"));
        AssertPublished(dockerfile, List(gatewayContainer, "command").Cast<string>().ToList(), "StemeDb.Gateway");
        Dictionary<object, object> gatewayService = gatewayDocs.Single(d => Text(d, "kind") == "Service");
        Assert.Equal(gatewayPort, At(gatewayService, "spec", "ports", 0, "targetPort").ToString());
    }

    /// <summary>The container runs <c>dotnet /app/x/Project.dll</c> and the Dockerfile publishes that project to <c>/app/x</c>.</summary>
    private static void AssertPublished(string dockerfile, List<string> command, string project)
    {
        Assert.Equal("dotnet", command[0]);
        Assert.Equal(project + ".dll", Path.GetFileName(command[1]));
        string folder = Path.GetDirectoryName(command[1])!;
        Assert.Matches(new Regex($@"dotnet publish src/{Regex.Escape(project)} .*-o {Regex.Escape(folder)}\b"), dockerfile);
    }

    private static string[] Indexed<T>(IReadOnlyDictionary<string, T> env, string prefix) =>
        [.. env.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Value!.ToString()!)];

    /// <summary>Environment variables as .NET configuration reads them: "__" separates sections.</summary>
    private static IConfiguration Settings(IEnumerable<KeyValuePair<string, string>> env) =>
        new ConfigurationBuilder().AddInMemoryCollection(env.Select(e => new KeyValuePair<string, string?>(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value))).Build();
}
