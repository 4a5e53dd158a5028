// A Dapr app that keeps the StemeDB cluster's member view from the topic "membership".
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.Services.AddDaprClient();
builder.Services.AddSingleton<MemberView>();
WebApplication app = builder.Build();

app.UseCloudEvents();      // the handler gets the CloudEvent's data
app.MapSubscribeHandler(); // GET /dapr/subscribe: the sidecar reads it once at start

app.MapPost("/membership", (MembershipEvent change, MemberView view) =>
{
    view.Apply(change);
    return Results.Ok(); // 2xx: done; duplicates and old news are fine, so never ask for a retry
}).WithTopic("pubsub", "membership");

app.MapGet("/members", (MemberView view) => view.Members());

app.Run();

/// <summary>The data of an io.stemedb.membership.* CloudEvent.</summary>
public sealed record MembershipEvent(
    string Key, string Kind, string MemberId, string AppId, string HttpAddress, string SwimAddress,
    string State, uint Incarnation, string ObservedBy, DateTimeOffset Time);

/// <summary>
/// The members, each as its newest event left it. Events come more than once (every node reports the same
/// change; a broker redelivers and replays) and in any order, so they apply by incarnation, never by arrival.
/// </summary>
public sealed class MemberView
{
    private readonly Dictionary<string, MembershipEvent> _members = [];
    private readonly Lock _lock = new();

    public void Apply(MembershipEvent change)
    {
        lock (_lock)
        {
            if (!_members.TryGetValue(change.MemberId, out MembershipEvent? known))
            {
                _members[change.MemberId] = change;
            }
            else if (change.Key != known.Key && Supersedes(change, known)) // the same key: the same change again
            {
                _members[change.MemberId] = change;
            }
        }
    }

    public List<MembershipEvent> Members()
    {
        lock (_lock)
        {
            return [.. _members.Values.OrderBy(m => m.MemberId, StringComparer.Ordinal)];
        }
    }

    // A higher incarnation wins; at the same one, alive < suspect < dead or left (only a member raises its own).
    private static bool Supersedes(MembershipEvent change, MembershipEvent known) =>
        change.Incarnation > known.Incarnation
        || (change.Incarnation == known.Incarnation && Rank(change.State) > Rank(known.State));

    private static int Rank(string state) => state switch
    {
        "alive" => 0,
        "suspect" => 1,
        _ => 2,
    };
}
