using Microsoft.Extensions.Configuration;

namespace StemeDb.Hosting;

/// <summary>
/// Binds an options section the way every app here does: an unknown key is an error, not a silently
/// ignored default (a misspelt setting is a default nobody chose), and errors are collected, so a start
/// names every bad setting at once.
/// </summary>
public static class StrictOptions
{
    public static T Bind<T>(IConfiguration configuration, string section, List<string> errors)
        where T : new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(errors);
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            errors.Add($"{section}: {e.Message}");
        }

        return options;
    }
}
