namespace StemeDb.Gateway;

/// <summary>An event stream's client did not read fast enough: its bounded queue filled, so it is cut off.</summary>
public sealed class SlowSubscriberException : Exception
{
    public SlowSubscriberException()
        : base("The client did not keep up with the event stream; its connection is closed.")
    {
    }

    public SlowSubscriberException(string message)
        : base(message)
    {
    }

    public SlowSubscriberException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
