using StemeDb.Contracts;
using StemeDb.Cluster.Errors;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node;

/// <summary>The acceptor's side of descriptor consensus (<see cref="ConsensusAcceptor"/>): phase 1b and 2b, peers only.</summary>
public static class ConsensusApi
{
    public static IEndpointRouteBuilder MapConsensusApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(InternalRoutes.Prepare, async (PrepareRequest? request, ConsensusAcceptor acceptor) =>
        {
            if (request?.Predecessor is null || request.Ballot is null)
            {
                return Problems.Invalid("predecessor", "a predecessor descriptor and a ballot are required.");
            }

            try
            {
                return Results.Ok(PrepareReplyDto.From(await acceptor.PrepareAsync(request.Predecessor.ToDescriptor(), request.Ballot.ToBallot())));
            }
            catch (Exception e) when (e is StemeDbClusterException or ArgumentException or FormatException or OverflowException)
            {
                return Problems.Invalid("predecessor", e.Message);
            }
        });
        app.MapPost(InternalRoutes.Accept, async (AcceptRequest? request, ConsensusAcceptor acceptor) =>
        {
            if (request?.Predecessor is null || request.Ballot is null || request.Value is null)
            {
                return Problems.Invalid("value", "a predecessor descriptor, a ballot and a value are required.");
            }

            try
            {
                return Results.Ok(AcceptReplyDto.From(await acceptor.AcceptAsync(request.Predecessor.ToDescriptor(), request.Ballot.ToBallot(), request.Value.ToChange())));
            }
            catch (Exception e) when (e is StemeDbClusterException or ArgumentException or FormatException or OverflowException)
            {
                return Problems.Invalid("value", e.Message);
            }
        });
        return app;
    }
}
