namespace StemeDb.EndToEnd.Tests;

/// <summary>Where the repository and the built apps are.</summary>
public static class BuiltApps
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Debug or Release: the same configuration this test assembly was built with.</summary>
    public static string Configuration { get; } = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    public static string Node => App("StemeDb.Node");

    public static string Gateway => App("StemeDb.Gateway");

    public static string Local => App("StemeDb.Local");

    public static string App(string name)
    {
        string dll = Path.Combine(RepositoryRoot, "src", name, "bin", Configuration, "net10.0", name + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{name} is not built ({dll}); run dotnet build first.", dll);
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StemeDb.Dapr.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("StemeDb.Dapr.sln not found above " + AppContext.BaseDirectory);
    }
}
