using PredGen.Shared.Predictions;

namespace PredGen.Cli.Tests.Serving;

public sealed class PredictionRequestParserTests
{
    private static readonly PredictionRequestParser Parser = new(new HashSet<string> { "sst2" }, maxTextLength: 20);

    [Theory]
    [InlineData("{not json", RejectionReasons.MalformedJson)]
    [InlineData("[1,2]", RejectionReasons.MalformedJson)]
    [InlineData("", RejectionReasons.MalformedJson)]
    [InlineData("{\"schema_version\":2,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"hi\"}", RejectionReasons.WrongSchemaVersion)]
    [InlineData("{\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"hi\"}", RejectionReasons.WrongSchemaVersion)]
    [InlineData("{\"schema_version\":1,\"task\":\"sst2\",\"text\":\"hi\"}", RejectionReasons.MalformedJson)]
    [InlineData("{\"schema_version\":1,\"request_id\":\"R/../x\",\"task\":\"sst2\",\"text\":\"hi\"}", RejectionReasons.MissingRequestId)]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"other\",\"text\":\"hi\"}", RejectionReasons.UnknownTask)]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"  \"}", RejectionReasons.EmptyText)]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"0123456789\",\"text_b\":\"0123456789x\"}", RejectionReasons.TextTooLong)]
    public void Each_kind_of_bad_input_is_rejected_with_its_reason(string body, string reason)
    {
        var parsed = Parser.Parse(BinaryData.FromString(body));

        Assert.False(parsed.IsValid);
        Assert.Equal(reason, parsed.RejectionReason);
        Assert.False(string.IsNullOrEmpty(parsed.RejectionDetail));
    }

    [Fact]
    public void A_valid_request_round_trips_and_base64_bodies_are_accepted_too()
    {
        var request = new PredictionRequest { RequestId = "abc-1", Task = "sst2", Text = "good film", TextB = "yes", ReturnText = true, ReplyTo = "replies-1" };
        string json = request.ToJson();
        Assert.Contains("\"schema_version\":1", json, StringComparison.Ordinal);
        Assert.Contains("\"text_b\":\"yes\"", json, StringComparison.Ordinal);

        var plain = Parser.Parse(BinaryData.FromString(json));
        var base64 = Parser.Parse(BinaryData.FromString(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json))));

        Assert.Equal(request, plain.Request);
        Assert.Equal(request, base64.Request);
    }

    [Fact]
    public void A_rejection_keeps_the_request_id_and_reply_queue_when_they_are_readable()
    {
        var parsed = Parser.Parse(BinaryData.FromString("{\"schema_version\":1,\"request_id\":\"r9\",\"task\":\"nope\",\"text\":\"x\",\"reply_to\":\"q1\"}"));

        Assert.Equal(("r9", "q1"), (parsed.RequestId, parsed.ReplyTo));
    }

    [Theory]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":null,\"text\":\"hi\"}", "task")]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":null}", "text")]
    [InlineData("{\"schema_version\":1,\"request_id\":null,\"task\":\"sst2\",\"text\":\"hi\"}", "request_id")]
    public void A_null_required_field_is_malformed_json_naming_the_field_not_an_exception(string body, string field)
    {
        var parsed = Parser.Parse(BinaryData.FromString(body));

        Assert.False(parsed.IsValid);
        Assert.Equal(RejectionReasons.MalformedJson, parsed.RejectionReason);
        Assert.Contains($"'{field}'", parsed.RejectionDetail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"bad \\ud800 half\",\"reply_to\":\"q1\"}", "text")]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"hi\",\"text_b\":\"\\udc00\",\"reply_to\":\"q1\"}", "text_b")]
    [InlineData("{\"schema_version\":1,\"request_id\":\"r1\",\"task\":\"sst2\",\"text\":\"hi\",\"reply_to\":\"\\ud800\"}", "reply_to")]
    public void A_lone_surrogate_escape_is_malformed_json_naming_the_field(string body, string field)
    {
        var parsed = Parser.Parse(BinaryData.FromString(body));

        Assert.False(parsed.IsValid);
        Assert.Equal(RejectionReasons.MalformedJson, parsed.RejectionReason);
        Assert.Contains($"'{field}'", parsed.RejectionDetail, StringComparison.Ordinal);
        Assert.Contains("surrogate", parsed.RejectionDetail, StringComparison.Ordinal);
    }
}
