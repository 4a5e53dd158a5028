namespace StemeDb.Dapr.Testing;

/// <summary>Finds the repository's files (<c>components/…</c>) from a test's working directory.</summary>
public static class RepositoryFiles
{
    /// <summary>The path as given when it exists, else relative to the first parent holding <c>StemeDb.Dapr.sln</c>.</summary>
    public static string Resolve(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path))
        {
            return path;
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StemeDb.Dapr.sln")))
            {
                return Path.Combine(dir.FullName, path);
            }
        }

        throw new FileNotFoundException($"{path} is neither under the working directory nor the repository root.", path);
    }
}
