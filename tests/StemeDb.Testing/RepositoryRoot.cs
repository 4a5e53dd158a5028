namespace StemeDb.Testing;

/// <summary>The checkout the tests run from: the directory above the running assembly that holds the solution.</summary>
public static class RepositoryRoot
{
    public static string Find()
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
