using System.Text.Json;
using StemeDb.Cluster.Time;

namespace StemeDb.Contracts.Tests;

public class AssertionTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Fact]
    public void The_canonical_form_is_the_documented_bytes_and_the_id_their_BLAKE3()
    {
        var a = new Assertion("user:42", "name", Json("\"Alice\""), "crm", 0.75, new HlcTimestamp(1, 0));
        byte[] expected = [.. "stemedb/assertion/v1"u8, 0, 7, .. "user:42"u8, 4, .. "name"u8, 7, .. "\"Alice\""u8, 1, 3, .. "crm"u8, 1, 0x3F, 0xE8, 0, 0, 0, 0, 0, 0];
        Assert.Equal(expected, a.Canonical);
        // b3sum of those bytes (the Rust reference implementation).
        Assert.Equal("de62ed9c5fa88f8c95ac3d09e4124adc657cec873c539fefd1c2f61a4e1cfd2b", a.Id.ToString());
    }

    [Fact]
    public void Object_key_order_and_whitespace_do_not_change_the_id_but_number_spelling_does()
    {
        var t = new HlcTimestamp(1, 0);
        var a = new Assertion("s", "p", Json("{\"b\": [1, {\"y\":2,\"x\":1}], \"a\": null}"), null, null, t);
        var b = new Assertion("s", "p", Json("{\"a\":null,\"b\":[1,{\"x\":1,\"y\":2}]}"), null, null, t);
        var c = new Assertion("s", "p", Json("{\"a\":null,\"b\":[1.0,{\"x\":1,\"y\":2}]}"), null, null, t);
        Assert.Equal(a.Id, b.Id);
        Assert.NotEqual(a.Id, c.Id);
        Assert.Equal("{\"a\":null,\"b\":[1,{\"x\":1,\"y\":2}]}", System.Text.Encoding.UTF8.GetString(CanonicalForm.CanonicalJson(a.Object)));
    }

    [Fact]
    public void The_time_of_an_assertion_is_not_part_of_its_id()
    {
        var early = new Assertion("s", "p", Json("1"), null, null, new HlcTimestamp(1, 0));
        var late = new Assertion("s", "p", Json("1"), null, null, new HlcTimestamp(999, 5));
        Assert.Equal(early.Id, late.Id);
    }

    [Theory]
    [InlineData("", "p", "1", null, null, "subject")]
    [InlineData("s", "", "1", null, null, "predicate")]
    [InlineData("s", "p", "1", "", null, "source")]
    [InlineData("s", "p", "1", null, 1.5, "confidence")]
    [InlineData("s", "p", "1", null, -0.1, "confidence")]
    [InlineData("s", "p", "1", null, double.NaN, "confidence")]
    [InlineData("s", "p", "{\"k\":1,\"k\":2}", null, null, "object")]
    public void Invalid_fields_are_named(string subject, string predicate, string json, string? source, double? confidence, string field)
    {
        var error = Assert.Throws<InvalidAssertionException>(() => new Assertion(subject, predicate, Json(json), source, confidence, default));
        Assert.Contains(error.Errors, e => e.Field == field);
    }

    [Theory]
    [InlineData("[false,\"\\uDAB0TuDEBE\"]")] // found by the node API fuzzer: a 500 where the id was made
    [InlineData("{\"\\uDC00\":1}")]
    [InlineData("{\"a\":{\"b\":\"x\\uD800\"}}")]
    public void A_lone_surrogate_escaped_in_the_object_is_refused_not_a_crash(string json)
    {
        var error = Assert.Throws<InvalidAssertionException>(() => new Assertion("s", "p", Json(json), null, null, default));
        Assert.Contains(error.Errors, e => e.Field == "object" && e.Message.Contains("surrogate"));
    }

    [Fact]
    public void A_lone_surrogate_is_not_text()
    {
        // Not as InlineData: attribute strings are stored as UTF-8, which would replace the surrogate.
        string subject = "bad" + (char)0xD800;
        var error = Assert.Throws<InvalidAssertionException>(() => new Assertion(subject, "p", Json("1"), null, null, default));
        Assert.Contains(error.Errors, e => e.Field == "subject" && e.Message.Contains("surrogate"));
    }

    [Fact]
    public void Sizes_are_bounded()
    {
        Assert.Contains(AssertionValidator.Validate(new string('s', 1025), "p", Json("1"), null, null), e => e.Field == "subject");
        Assert.Contains(AssertionValidator.Validate("s", new string('p', 257), Json("1"), null, null), e => e.Field == "predicate");
        Assert.Contains(AssertionValidator.Validate("s", "p", Json($"\"{new string('x', 70_000)}\""), null, null), e => e.Field == "object" && e.Message.Contains("65536"));
        string deep = new string('[', 40) + new string(']', 40);
        Assert.Contains(AssertionValidator.Validate("s", "p", Json(deep), null, null), e => e.Field == "object" && e.Message.Contains("deeper"));
        Assert.Empty(AssertionValidator.Validate(new string('s', 1024), new string('p', 256), Json("{}"), new string('x', 256), 1.0));
    }

    [Fact]
    public void A_missing_object_is_an_error() =>
        Assert.Contains(AssertionValidator.Validate("s", "p", null, null, null), e => e.Field == "object");

    [Fact]
    public void Assertion_ids_parse_from_hex()
    {
        var a = new Assertion("s", "p", Json("true"), null, null, default);
        Assert.True(AssertionId.TryParse(a.Id.ToString().ToUpperInvariant(), out AssertionId parsed));
        Assert.Equal(a.Id, parsed);
        Assert.False(AssertionId.TryParse("xyz", out _));
        Assert.False(AssertionId.TryParse(new string('g', 64), out _));
    }
}
