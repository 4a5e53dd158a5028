using System.Buffers;
using System.Text;
using System.Text.Json;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway.Tests;

/// <summary>The one-pass rewrite of a node's read answer gives exactly what serializing <see cref="PublicAssertion"/> gave.</summary>
public sealed class PublicFormTests
{
    [Fact]
    public void The_rewrite_equals_the_serialized_public_form()
    {
        var random = new Random(7);
        string[] objects = ["1", "-2.5e3", "\"text with \\\"quotes\\\" and \\u00e9\"", "null", "true", "{\"a\":[1,{\"b\":\"c\"}],\"d\":{}}", "[]", "\"Zo\u00eb \ud83d\ude00\""];
        for (int round = 0; round < 200; round++)
        {
            var list = Enumerable.Range(0, random.Next(0, 6)).Select(i => new AssertionDto(
                Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
                $"user:{random.Next()}",
                random.Next(2) == 0 ? "name" : "prédicat",
                JsonDocument.Parse(objects[random.Next(objects.Length)]).RootElement.Clone(),
                random.Next(2) == 0 ? null : "crm",
                random.Next(2) == 0 ? null : Math.Round(random.NextDouble(), 3),
                ((ulong)random.NextInt64(1_600_000_000_000, 1_900_000_000_000) << 16) | (uint)random.Next(0, 65536),
                random.Next(3) == 0 ? ((ulong)random.NextInt64(1_600_000_000_000, 1_900_000_000_000) << 16) : null)).ToList();
            byte[] node = JsonSerializer.SerializeToUtf8Bytes(list, JsonSerializerOptions.Web);
            string expected = JsonSerializer.Serialize(list.Select(PublicAssertion.From).ToList(), JsonSerializerOptions.Web);

            var output = new ArrayBufferWriter<byte>();
            Assert.True(PublicForm.TryRewrite(node, output));
            Assert.Equal(expected, Encoding.UTF8.GetString(output.WrittenSpan));
        }
    }

    [Fact]
    public void A_real_node_answer_is_rewritten()
    {
        byte[] node = Encoding.UTF8.GetBytes("[{\"id\":\"5e83\",\"subject\":\"load:1\",\"predicate\":\"p\",\"object\":1,\"source\":null,\"confidence\":null,\"assertedAt\":117682828223119360,\"retractedAt\":null}]");
        var output = new ArrayBufferWriter<byte>();
        Assert.True(PublicForm.TryRewrite(node, output), Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Contains("\"assertedAt\":\"2026-", Encoding.UTF8.GetString(output.WrittenSpan), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("[1]")]
    [InlineData("[{\"subject\":\"s\",\"assertedAt\":1}]")]
    [InlineData("[{\"id\":5,\"assertedAt\":1}]")]
    [InlineData("[{\"id\":\"a\",\"assertedAt\":\"yesterday\"}]")]
    [InlineData("[{\"id\":\"a\"}]")]
    [InlineData("[{\"id\":\"a\",\"assertedAt\":1}] trailing")]
    [InlineData("[{\"id\":\"a\",\"assertedAt\":1}")]
    [InlineData("not json")]
    public void Anything_but_a_list_of_assertions_is_refused(string node)
    {
        Assert.False(PublicForm.TryRewrite(Encoding.UTF8.GetBytes(node), new ArrayBufferWriter<byte>()));
    }
}
