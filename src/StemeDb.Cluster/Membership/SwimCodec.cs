using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Net;
using System.Text;
using System.Text.Unicode;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// The versioned, compact binary form of SWIM datagrams.
/// <code>
/// datagram = magic(0xB5) version(2) cluster(8, little-endian) message* [tag(16): HMAC-SHA256 of all before it, when keys are set]
/// message  = type(1) length(varint) payload
/// </code>
/// Integers are LEB128 varints, strings a varint length and UTF-8, addresses a family byte (4/6), the
/// address bytes and a big-endian port. A receiver skips message types it does not know (a newer peer),
/// and drops, never throws on, anything malformed: decoding returns false. A datagram of another cluster
/// (<see cref="ClusterId"/>) is dropped before anything in it is read.
/// </summary>
public static class SwimCodec
{
    public const byte Magic = 0xB5;
    public const byte Version = 2;
    private const int ClusterBytes = 8;

    private enum MessageType : byte
    {
        Ping = 1,
        IndirectPing = 2,
        Ack = 3,
        Nack = 4,
        Alive = 5,
        Suspect = 6,
        Dead = 7,
        PushPull = 8,
    }

    /// <summary>Bytes of a datagram that are not messages (the header, and the tag at the end).</summary>
    public static int HeaderBytes(Keyring keyring) => 2 + ClusterBytes + (keyring.IsEnabled ? Keyring.TagBytes : 0);

    /// <summary>One message in its framed form (type, length, payload), ready to be put in a datagram.</summary>
    public static byte[] EncodeMessage(SwimMessage message)
    {
        var payload = new ArrayBufferWriter<byte>(64);
        MessageType type = message switch
        {
            Ping p => Write(payload, MessageType.Ping, w => { w.VarUInt(p.Sequence); w.Id(p.Target); w.Id(p.Source); }),
            IndirectPing ip => Write(payload, MessageType.IndirectPing, w => { w.VarUInt(ip.Sequence); w.Id(ip.Target); w.Address(ip.TargetAddress); w.Id(ip.Source); w.Byte(ip.WantNack ? (byte)1 : (byte)0); }),
            Ack a => Write(payload, MessageType.Ack, w => w.VarUInt(a.Sequence)),
            Nack n => Write(payload, MessageType.Nack, w => w.VarUInt(n.Sequence)),
            AliveMessage a => Write(payload, MessageType.Alive, w => { w.Id(a.Node); w.VarUInt(a.Incarnation); w.Address(a.Address); w.String(a.AppId); w.String(a.HttpAddress); w.Metadata(a.Metadata); }),
            SuspectMessage s => Write(payload, MessageType.Suspect, w => { w.Id(s.Node); w.VarUInt(s.Incarnation); w.Id(s.From); }),
            DeadMessage d => Write(payload, MessageType.Dead, w => { w.Id(d.Node); w.VarUInt(d.Incarnation); w.Id(d.From); }),
            PushPullMessage pp => Write(payload, MessageType.PushPull, w =>
            {
                w.Id(pp.From);
                w.Byte((byte)((pp.Join ? 1 : 0) | (pp.IsReply ? 2 : 0)));
                w.VarUInt((uint)pp.Members.Length);
                foreach (NodeInfo m in pp.Members)
                {
                    w.Member(m);
                }
            }),
            _ => throw new ArgumentException($"Unknown SWIM message {message.GetType().Name}.", nameof(message)),
        };

        var framed = new ArrayBufferWriter<byte>(payload.WrittenCount + 6);
        var fw = new Writer(framed);
        fw.Byte((byte)type);
        fw.VarUInt((uint)payload.WrittenCount);
        framed.Write(payload.WrittenSpan);
        return framed.WrittenSpan.ToArray();
    }

    /// <summary>Bytes a member takes in a push-pull message, to pack datagrams.</summary>
    public static int MemberBytes(NodeInfo member)
    {
        var buffer = new ArrayBufferWriter<byte>(96);
        new Writer(buffer).Member(member);
        return buffer.WrittenCount;
    }

    /// <summary>A datagram from framed messages; signs it when the keyring has keys.</summary>
    public static byte[] EncodeDatagram(IReadOnlyList<byte[]> framedMessages, Keyring keyring, ClusterId cluster = default)
    {
        int tag = keyring.IsEnabled ? Keyring.TagBytes : 0;
        byte[] datagram = new byte[HeaderBytes(keyring) + framedMessages.Sum(m => m.Length)];
        datagram[0] = Magic;
        datagram[1] = Version;
        BinaryPrimitives.WriteUInt64LittleEndian(datagram.AsSpan(2), cluster.Value);
        int at = 2 + ClusterBytes;
        foreach (byte[] m in framedMessages)
        {
            m.CopyTo(datagram, at);
            at += m.Length;
        }

        if (tag > 0)
        {
            keyring.Sign(datagram.AsSpan(0, at), datagram.AsSpan(at, tag));
        }

        return datagram;
    }

    public static byte[] EncodeDatagram(Keyring keyring, params SwimMessage[] messages) =>
        EncodeDatagram([.. messages.Select(EncodeMessage)], keyring);

    /// <summary>The cluster a datagram says it is from, when it has a header at all.</summary>
    public static bool TryReadCluster(ReadOnlySpan<byte> datagram, out ClusterId cluster)
    {
        cluster = default;
        if (datagram.Length < 2 + ClusterBytes || datagram[0] != Magic || datagram[1] != Version)
        {
            return false;
        }

        cluster = new ClusterId(BinaryPrimitives.ReadUInt64LittleEndian(datagram[2..]));
        return true;
    }

    /// <summary>Why a datagram was refused, for the counters.</summary>
    public enum DecodeResult
    {
        Ok,
        Malformed,
        Unauthenticated,

        /// <summary>Well-formed and from another cluster.</summary>
        ForeignCluster,
    }

    /// <summary>Parses a datagram into <paramref name="messages"/>. Never throws on bad input.</summary>
    public static DecodeResult TryDecodeDatagram(ReadOnlySpan<byte> datagram, Keyring keyring, List<SwimMessage> messages, ClusterId cluster = default)
    {
        messages.Clear();
        if (datagram.Length < HeaderBytes(keyring) || !TryReadCluster(datagram, out ClusterId from))
        {
            return DecodeResult.Malformed;
        }

        int tag = keyring.IsEnabled ? Keyring.TagBytes : 0;
        if (tag > 0 && !keyring.Verify(datagram[..^tag], datagram[^tag..]))
        {
            return DecodeResult.Unauthenticated;
        }

        if (from != cluster)
        {
            return DecodeResult.ForeignCluster;
        }

        var reader = new Reader(datagram[(2 + ClusterBytes)..^tag]);
        while (!reader.AtEnd)
        {
            if (!reader.TryByte(out byte type) || !reader.TryVarUInt(out uint length) || !reader.TrySlice((int)Math.Min(length, int.MaxValue), out ReadOnlySpan<byte> body))
            {
                messages.Clear();
                return DecodeResult.Malformed;
            }

            if (!Enum.IsDefined((MessageType)type))
            {
                continue; // from a newer version: skip it, keep the rest
            }

            var r = new Reader(body);
            SwimMessage? message = TryRead(ref r, (MessageType)type);
            if (message is null || !r.AtEnd)
            {
                messages.Clear();
                return DecodeResult.Malformed;
            }

            messages.Add(message);
        }

        return messages.Count > 0 ? DecodeResult.Ok : DecodeResult.Malformed;
    }

    private static SwimMessage? TryRead(ref Reader r, MessageType type)
    {
        switch (type)
        {
            case MessageType.Ping:
                return r.TryVarUInt(out uint seq) && r.TryId(out NodeId target) && r.TryId(out NodeId source) ? new Ping(seq, target, source) : null;
            case MessageType.IndirectPing:
                return r.TryVarUInt(out seq) && r.TryId(out target) && r.TryAddress(out IPEndPoint? address) && r.TryId(out source) && r.TryByte(out byte nack) && nack <= 1
                    ? new IndirectPing(seq, target, address!, source, nack == 1)
                    : null;
            case MessageType.Ack:
                return r.TryVarUInt(out seq) ? new Ack(seq) : null;
            case MessageType.Nack:
                return r.TryVarUInt(out seq) ? new Nack(seq) : null;
            case MessageType.Alive:
                return r.TryId(out NodeId node) && r.TryVarUInt(out uint inc) && r.TryAddress(out address)
                    && r.TryString(NodeInfo.MaxAppIdBytes, out string? appId) && r.TryString(NodeInfo.MaxHttpAddressBytes, out string? http)
                    && r.TryMetadata(out ImmutableSortedDictionary<string, string>? meta)
                    ? new AliveMessage(node, inc, address!, appId!, http!, meta!)
                    : null;
            case MessageType.Suspect:
                return r.TryId(out node) && r.TryVarUInt(out inc) && r.TryId(out NodeId from) ? new SuspectMessage(node, inc, from) : null;
            case MessageType.Dead:
                return r.TryId(out node) && r.TryVarUInt(out inc) && r.TryId(out from) ? new DeadMessage(node, inc, from) : null;
            case MessageType.PushPull:
                if (!r.TryId(out from) || !r.TryByte(out byte flags) || flags > 3 || !r.TryVarUInt(out uint count) || count > 4096)
                {
                    return null;
                }

                var members = ImmutableArray.CreateBuilder<NodeInfo>((int)count);
                for (int i = 0; i < count; i++)
                {
                    if (!r.TryMember(out NodeInfo? m))
                    {
                        return null;
                    }

                    members.Add(m!);
                }

                return new PushPullMessage(from, (flags & 1) != 0, (flags & 2) != 0, members.MoveToImmutable());
            default:
                return null;
        }
    }

    private static MessageType Write(ArrayBufferWriter<byte> buffer, MessageType type, Action<Writer> write)
    {
        write(new Writer(buffer));
        return type;
    }

    private readonly struct Writer(IBufferWriter<byte> buffer)
    {
        public void Byte(byte value)
        {
            buffer.GetSpan(1)[0] = value;
            buffer.Advance(1);
        }

        public void VarUInt(uint value)
        {
            Span<byte> span = buffer.GetSpan(5);
            int i = 0;
            while (value >= 0x80)
            {
                span[i++] = (byte)(value | 0x80);
                value >>= 7;
            }

            span[i++] = (byte)value;
            buffer.Advance(i);
        }

        public void String(string value)
        {
            int bytes = Encoding.UTF8.GetByteCount(value);
            VarUInt((uint)bytes);
            Encoding.UTF8.GetBytes(value, buffer.GetSpan(bytes));
            buffer.Advance(bytes);
        }

        public void Id(NodeId id) => String(id.Value);

        public void Address(IPEndPoint endpoint)
        {
            Span<byte> span = buffer.GetSpan(19);
            span[0] = endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? (byte)6 : (byte)4;
            endpoint.Address.TryWriteBytes(span[1..], out int written);
            BinaryPrimitives.WriteUInt16BigEndian(span[(1 + written)..], (ushort)endpoint.Port);
            buffer.Advance(3 + written);
        }

        public void Metadata(ImmutableSortedDictionary<string, string> metadata)
        {
            VarUInt((uint)metadata.Count);
            foreach ((string key, string value) in metadata)
            {
                String(key);
                String(value);
            }
        }

        public void Member(NodeInfo m)
        {
            Id(m.Id);
            VarUInt(m.Incarnation);
            Byte((byte)m.State);
            Address(m.SwimAddress);
            String(m.AppId);
            String(m.HttpAddress);
            Metadata(m.Metadata);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        public readonly bool AtEnd => _data.IsEmpty;

        public bool TryByte(out byte value)
        {
            if (_data.IsEmpty)
            {
                value = 0;
                return false;
            }

            value = _data[0];
            _data = _data[1..];
            return true;
        }

        public bool TryVarUInt(out uint value)
        {
            value = 0;
            for (int shift = 0; shift < 35; shift += 7)
            {
                if (!TryByte(out byte b))
                {
                    return false;
                }

                if (shift == 28 && b > 0x0F)
                {
                    return false; // would overflow 32 bits
                }

                value |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return true;
                }
            }

            return false;
        }

        public bool TrySlice(int length, out ReadOnlySpan<byte> slice)
        {
            if (length < 0 || length > _data.Length)
            {
                slice = default;
                return false;
            }

            slice = _data[..length];
            _data = _data[length..];
            return true;
        }

        public bool TryString(int maxBytes, out string? value)
        {
            value = null;
            if (!TryVarUInt(out uint length) || length > maxBytes || !TrySlice((int)length, out ReadOnlySpan<byte> bytes) || !Utf8.IsValid(bytes))
            {
                return false;
            }

            value = Encoding.UTF8.GetString(bytes);
            return true;
        }

        public bool TryId(out NodeId id)
        {
            id = default;
            if (!TryString(NodeId.MaxLength, out string? value) || !NodeId.IsValid(value, out _))
            {
                return false;
            }

            id = new NodeId(value!);
            return true;
        }

        public bool TryAddress(out IPEndPoint? endpoint)
        {
            endpoint = null;
            if (!TryByte(out byte family) || family is not (4 or 6))
            {
                return false;
            }

            int length = family == 4 ? 4 : 16;
            if (!TrySlice(length + 2, out ReadOnlySpan<byte> bytes))
            {
                return false;
            }

            endpoint = new IPEndPoint(new IPAddress(bytes[..length]), BinaryPrimitives.ReadUInt16BigEndian(bytes[length..]));
            return true;
        }

        public bool TryMetadata(out ImmutableSortedDictionary<string, string>? metadata)
        {
            metadata = null;
            if (!TryVarUInt(out uint count) || count > NodeInfo.MaxMetadataEntries)
            {
                return false;
            }

            var builder = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                if (!TryString(NodeInfo.MaxMetadataKeyBytes, out string? key) || !TryString(NodeInfo.MaxMetadataValueBytes, out string? value) || !builder.TryAdd(key!, value!))
                {
                    return false;
                }
            }

            metadata = builder.ToImmutable();
            return true;
        }

        public bool TryMember(out NodeInfo? member)
        {
            member = null;
            if (!TryId(out NodeId id) || !TryVarUInt(out uint inc) || !TryByte(out byte state) || state > (byte)NodeState.Left
                || !TryAddress(out IPEndPoint? address) || !TryString(NodeInfo.MaxAppIdBytes, out string? appId)
                || !TryString(NodeInfo.MaxHttpAddressBytes, out string? http) || !TryMetadata(out ImmutableSortedDictionary<string, string>? meta))
            {
                return false;
            }

            member = new NodeInfo(id, address!, appId!, http!, inc, (NodeState)state, meta!);
            return true;
        }
    }
}
