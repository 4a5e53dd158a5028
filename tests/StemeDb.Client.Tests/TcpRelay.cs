using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StemeDb.Client.Tests;

/// <summary>
/// A TCP relay on loopback in front of the real gateway, as a proxy or a load balancer sits in front of one:
/// it keeps the head of every request it relays (to see the headers a client sent), can cut every open
/// connection (a dropped stream), and can stall (accept and never answer: a hung gateway).
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly ConcurrentDictionary<int, (TcpClient In, TcpClient? Out)> _open = new();
    private readonly ConcurrentQueue<string> _heads = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _next;

    public TcpRelay(Uri target)
    {
        _target = target;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>When set, new connections are accepted and never answered.</summary>
    public bool Stall { get; set; }

    /// <summary>The heads (request line and headers) of the requests relayed so far, in order.</summary>
    public IReadOnlyList<string> Heads => [.. _heads];

    /// <summary>Closes every open connection, both ways, at once.</summary>
    public void CutAll()
    {
        foreach (int key in _open.Keys)
        {
            if (_open.TryRemove(key, out var pair))
            {
                pair.In.Client?.Close(0);
                pair.Out?.Client?.Close(0);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
            int id = Interlocked.Increment(ref _next);
            if (Stall)
            {
                _open[id] = (client, null);
                continue;
            }

            _ = RelayAsync(id, client);
        }
    }

    private async Task RelayAsync(int id, TcpClient client)
    {
        var upstream = new TcpClient();
        _open[id] = (client, upstream);
        try
        {
            await upstream.ConnectAsync(_target.Host, _target.Port, _stop.Token);
            NetworkStream a = client.GetStream();
            NetworkStream b = upstream.GetStream();
            await Task.WhenAny(PumpAsync(a, b, keepHeads: true), PumpAsync(b, a, keepHeads: false));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            _open.TryRemove(id, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool keepHeads)
    {
        var buffer = new byte[16 * 1024];
        var head = new StringBuilder();
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (keepHeads)
                {
                    // Requests on one connection follow each other; a head ends with a blank line.
                    head.Append(Encoding.Latin1.GetString(buffer, 0, n));
                    int end;
                    while ((end = head.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
                    {
                        string text = head.ToString();
                        if (text.StartsWith("GET ", StringComparison.Ordinal) || text.StartsWith("POST ", StringComparison.Ordinal) || text.StartsWith("DELETE ", StringComparison.Ordinal))
                        {
                            _heads.Enqueue(text[..end]);
                        }

                        head.Remove(0, end + 4);
                    }
                }

                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
