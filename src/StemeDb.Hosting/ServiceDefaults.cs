using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Hosting;

/// <summary>What every app here sets up alike, in the manner of eShop's ServiceDefaults.</summary>
public static class ServiceDefaults
{
    /// <summary>RFC 7807 problem details for every error, the system clock, a body limit.</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, long maxRequestBodyBytes)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = maxRequestBodyBytes);
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Http.IProblemDetailsWriter, ProblemJsonWriter>(); // after the default: whatever Accept says
        // Binding failures throw (instead of a bare 400) so that BadRequestProblems can say what was wrong.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<BadRequestProblems>();
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>Exceptions and bare status codes answered as problem details.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}
