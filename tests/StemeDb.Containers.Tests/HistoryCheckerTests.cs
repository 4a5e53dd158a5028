namespace StemeDb.Containers.Tests;

/// <summary>The checker on small hand-made histories (no containers): each kind of violation is found, and what is allowed passes.</summary>
public sealed class HistoryCheckerTests
{
    private const string X = "aaaaaaaaaaaa0000000000000000000000000000000000000000000000000001";
    private const string Y = "bbbbbbbbbbbb0000000000000000000000000000000000000000000000000002";
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_clean_history_passes()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 0.1),
            Write("s:2", Y, 0.0, 0.2, gateway: "B"),
            Read("s:1", 0.3, 0.4, Current(X)),
            Retract("s:2", Y, 0.5, 0.6, gateway: "B"),
            Read("s:2", 0.7, 0.8, []),
            Read("s:1", 0.9, 1.0, Current(X), gateway: "B"),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)]), ("s:2", [new(Y, true)])));

        Assert.True(report.Clean, report.Describe());
        Assert.Equal(2, report.AcknowledgedWrites);
        Assert.Equal(1, report.AcknowledgedRetractions);
        Assert.Equal(6, report.Operations);
        Assert.Equal(0, report.FailedFraction);
    }

    [Fact]
    public void An_acknowledged_write_missing_from_the_final_read_back_is_lost()
    {
        Operation[] history = [Write("s:1", X, 0.0, 0.1), Write("s:2", Y, 0.0, 0.1)];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)]), ("s:2", [])));

        Operation lost = Assert.Single(report.LostWrites);
        Assert.Equal("s:2", lost.Subject);
        Assert.False(report.Clean);
    }

    [Fact]
    public void A_retracted_write_still_in_the_history_read_back_is_not_lost()
    {
        Operation[] history = [Write("s:1", X, 0.0, 0.1), Retract("s:1", X, 0.2, 0.3)];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, true)])));

        Assert.True(report.Clean, report.Describe());
    }

    [Fact]
    public void A_subject_the_read_back_could_not_read_is_reported_as_unreadable_not_as_found()
    {
        HistoryReport report = HistoryChecker.Check([Write("s:1", X, 0.0, 0.1)], Duration, Final(("s:1", null)));

        Assert.Single(report.Unreadable);
        Assert.Empty(report.LostWrites);
        Assert.False(report.Clean);
    }

    [Fact]
    public void Writes_that_were_refused_or_indeterminate_bind_nothing()
    {
        Operation[] history =
        [
            new(OperationKind.Write, "A", "s:1", null, At(0.0), At(0.1), OperationOutcome.Indeterminate, Status: 503),
            new(OperationKind.Write, "A", "s:2", null, At(0.0), At(0.1), OperationOutcome.Failed, Status: 400),
            Read("s:1", 0.2, 0.3, []),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", []), ("s:2", [])));

        Assert.True(report.Clean, report.Describe());
        Assert.Equal(1, report.Failed);
        Assert.Equal(1, report.Indeterminate);
        Assert.Equal(new Dictionary<string, int> { ["write 400"] = 1, ["write 503"] = 1 }, report.NotOk);
    }

    [Fact]
    public void A_read_that_began_after_the_acknowledgement_and_returned_200_without_the_write_is_stale()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 1.0),
            Read("s:1", 1.1, 1.2, [], gateway: "B"),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)])));

        StaleRead stale = Assert.Single(report.StaleReads);
        Assert.Equal("B", stale.Read.Gateway);
        Assert.Equal(X, stale.Write.Id);
        Assert.Empty(report.LostWrites);
    }

    [Fact]
    public void A_read_concurrent_with_the_write_may_miss_it()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 1.0),
            Read("s:1", 0.9, 1.2, []), // began before the acknowledgement
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)])));

        Assert.True(report.Clean, report.Describe());
    }

    [Fact]
    public void A_read_may_miss_a_write_whose_retraction_began_before_the_read_ended_even_if_indeterminate()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 0.1),
            new(OperationKind.Retract, "A", "s:1", X, At(0.2), At(2.2), OperationOutcome.Indeterminate),
            Read("s:1", 0.5, 0.6, [], gateway: "B"),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)])));

        Assert.True(report.Clean, report.Describe());
    }

    [Fact]
    public void A_refused_retraction_does_not_excuse_a_read_that_misses_the_write()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 0.1),
            new(OperationKind.Retract, "A", "s:1", X, At(0.2), At(0.3), OperationOutcome.Failed, Status: 404),
            Read("s:1", 0.5, 0.6, []),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)])));

        Assert.Single(report.StaleReads);
    }

    [Fact]
    public void A_read_after_an_acknowledged_retraction_that_returns_the_assertion_as_current_undoes_it()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 0.1),
            Retract("s:1", X, 0.2, 0.3),
            Read("s:1", 0.4, 0.5, Current(X), gateway: "B"),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, true)])));

        UndoneRetraction undone = Assert.Single(report.UndoneRetractions);
        Assert.Equal("B", undone.Read!.Gateway);
    }

    [Fact]
    public void An_acknowledged_retraction_current_again_in_the_final_read_back_is_undone()
    {
        Operation[] history = [Write("s:1", X, 0.0, 0.1), Retract("s:1", X, 0.2, 0.3)];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)])));

        UndoneRetraction undone = Assert.Single(report.UndoneRetractions);
        Assert.Null(undone.Read);
    }

    [Fact]
    public void A_read_concurrent_with_a_retraction_may_still_see_the_assertion()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 0.1),
            Retract("s:1", X, 0.2, 0.5),
            Read("s:1", 0.4, 0.6, Current(X)),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, true)])));

        Assert.True(report.Clean, report.Describe());
    }

    [Fact]
    public void Unavailability_is_the_longest_gap_without_a_success_per_gateway_start_and_end_included()
    {
        Operation[] history =
        [
            Write("s:1", X, 0.0, 1.0),
            new(OperationKind.Write, "A", "s:2", null, At(1.0), At(7.0), OperationOutcome.Indeterminate),
            Read("s:1", 7.0, 8.0, Current(X)),
            Write("s:3", Y, 0.0, 6.0, gateway: "B"),
        ];

        HistoryReport report = HistoryChecker.Check(history, Duration, Final(("s:1", [new(X, false)]), ("s:3", [new(Y, false)])));

        Assert.Equal(TimeSpan.FromSeconds(7), report.LongestUnavailable["A"]); // from 1 s to 8 s
        Assert.Equal(TimeSpan.FromSeconds(6), report.LongestUnavailable["B"]); // from the start to 6 s
        Assert.Equal(0.25, report.FailedFraction);
    }

    private static TimeSpan At(double seconds) => TimeSpan.FromSeconds(seconds);

    private static Operation Write(string subject, string id, double start, double end, string gateway = "A") =>
        new(OperationKind.Write, gateway, subject, id, At(start), At(end), OperationOutcome.Ok, Status: 200);

    private static Operation Read(string subject, double start, double end, IReadOnlyList<SeenAssertion> seen, string gateway = "A") =>
        new(OperationKind.Read, gateway, subject, null, At(start), At(end), OperationOutcome.Ok, seen, 200);

    private static Operation Retract(string subject, string id, double start, double end, string gateway = "A") =>
        new(OperationKind.Retract, gateway, subject, id, At(start), At(end), OperationOutcome.Ok, Status: 200);

    private static IReadOnlyList<SeenAssertion> Current(params string[] ids) => [.. ids.Select(id => new SeenAssertion(id, false))];

    private static Dictionary<string, IReadOnlyList<SeenAssertion>?> Final(params (string Subject, IReadOnlyList<SeenAssertion>? Seen)[] subjects) =>
        subjects.ToDictionary(s => s.Subject, s => s.Seen);
}
