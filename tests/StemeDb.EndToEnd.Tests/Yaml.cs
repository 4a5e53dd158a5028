using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace StemeDb.EndToEnd.Tests;

/// <summary>Reads the repository's YAML (every document of a file) into plain dictionaries and lists.</summary>
public static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public static List<Dictionary<object, object>> Documents(string relativePath)
    {
        using StreamReader reader = File.OpenText(Path.Combine(BuiltApps.RepositoryRoot, relativePath));
        var parser = new Parser(reader);
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    public static Dictionary<object, object> Document(string relativePath) => Assert.Single(Documents(relativePath));

    /// <summary>The node at a path of keys (strings) and indexes (ints); fails the test naming the path if absent.</summary>
    public static object At(object node, params object[] path)
    {
        object current = node;
        foreach (object step in path)
        {
            current = (step, current) switch
            {
                (string key, Dictionary<object, object> map) when map.TryGetValue(key, out object? value) && value is not null => value,
                (int index, List<object> list) when index < list.Count => list[index],
                _ => throw new Xunit.Sdk.XunitException($"YAML has no '{string.Join('.', path)}' (stopped at '{step}')."),
            };
        }

        return current;
    }

    public static string Text(object node, params object[] path) => (string)At(node, path);

    public static Dictionary<object, object> Map(object node, params object[] path) => (Dictionary<object, object>)At(node, path);

    public static List<object> List(object node, params object[] path) => (List<object>)At(node, path);

    /// <summary>A Kubernetes env list (<c>- {name, value}</c>) as a dictionary; entries with <c>valueFrom</c> map to null.</summary>
    public static Dictionary<string, string?> EnvList(object node) =>
        List(node).Cast<Dictionary<object, object>>().ToDictionary(e => (string)e["name"], e => e.TryGetValue("value", out object? v) ? (string?)v : null);

    /// <summary>A pub/sub component's metadata list as a dictionary.</summary>
    public static Dictionary<string, string> ComponentMetadata(Dictionary<object, object> component) =>
        List(component, "spec", "metadata").Cast<Dictionary<object, object>>().ToDictionary(e => (string)e["name"], e => (string)e["value"]);

    /// <summary>Dapr's "app1=t1,t2;app2=" scope syntax as app → topics.</summary>
    public static Dictionary<string, string[]> Scopes(string value) =>
        value.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Split('=')).ToDictionary(
            p => p[0],
            p => p[1].Split(',', StringSplitOptions.RemoveEmptyEntries).Order().ToArray());
}
