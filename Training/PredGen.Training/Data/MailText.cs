using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace PredGen.Training.Data;

/// <summary>
/// Turns a raw RFC 822 message into the text a classifier may see: "Subject: …" and the readable body. Every other
/// header goes (Received, From, List-Id, X-Spam-* give the label away), list tags such as "[ILUG]" leave the subject,
/// MIME parts are decoded (base64, quoted-printable, any charset .NET knows, Windows-1252 when the declared one is
/// unknown or lies), HTML becomes text, attachments are skipped. Lenient by design: a 2002 spam corpus is full of
/// malformed headers, and a message that cannot be parsed still yields whatever text it has.
/// </summary>
public static partial class MailText
{
    static MailText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public static string Convert(byte[] raw, int maxChars = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var (headers, body) = SplitHeaders(raw, 0);
        string rawSubject = Header(headers, "subject") ?? "";
        string subject = CleanSubject(DecodeHeaderValue(rawSubject));
        // A body without a declared charset is most often in the charset of the subject's encoded words (Big5,
        // Shift_JIS spam); Windows-1252 would turn it into mojibake.
        var subjectCharset = EncodedWord().Match(rawSubject);
        string text = BodyText(headers, raw, body, raw.Length, depth: 0, subjectCharset.Success ? subjectCharset.Groups[1].Value : null);
        string result = ("Subject: " + subject + "\n\n" + NormalizeWhitespace(text)).Trim();
        return result.Length <= maxChars ? result : result[..maxChars].TrimEnd();
    }

    private static string BodyText(List<(string Name, string Value)> headers, byte[] raw, int start, int end, int depth, string? fallbackCharset)
    {
        string contentType = Header(headers, "content-type") ?? "text/plain";
        string mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType.StartsWith("multipart/", StringComparison.Ordinal) && depth < 8 && Parameter(contentType, "boundary") is { Length: > 0 } boundary)
        {
            var plain = new List<string>();
            var html = new List<string>();
            foreach (var (partStart, partEnd) in Parts(raw, start, end, boundary))
            {
                var (partHeaders, partBody) = SplitHeaders(raw, partStart, partEnd);
                string partType = (Header(partHeaders, "content-type") ?? "text/plain").Split(';')[0].Trim().ToLowerInvariant();
                string disposition = Header(partHeaders, "content-disposition") ?? "";
                if (disposition.StartsWith("attachment", StringComparison.OrdinalIgnoreCase)) continue;
                if (partType.StartsWith("multipart/", StringComparison.Ordinal)) plain.Add(BodyText(partHeaders, raw, partBody, partEnd, depth + 1, fallbackCharset));
                else if (partType == "text/html") html.Add(BodyText(partHeaders, raw, partBody, partEnd, depth + 1, fallbackCharset));
                else if (partType.StartsWith("text/", StringComparison.Ordinal)) plain.Add(BodyText(partHeaders, raw, partBody, partEnd, depth + 1, fallbackCharset));
            }
            var chosen = plain.Any(p => p.Trim().Length > 0) ? plain : html;
            return string.Join("\n\n", chosen);
        }
        if (!mediaType.StartsWith("text/", StringComparison.Ordinal) && mediaType.Length > 0 && mediaType != "text") return "";
        byte[] bytes = DecodeTransfer(Header(headers, "content-transfer-encoding"), raw.AsSpan(start, Math.Max(0, end - start)));
        string text = DecodeCharset(bytes, Parameter(contentType, "charset") ?? fallbackCharset);
        return mediaType == "text/html" || LooksLikeHtml(text) ? HtmlToText(text) : text;
    }

    private static (List<(string Name, string Value)> Headers, int BodyStart) SplitHeaders(byte[] raw, int start, int end = -1)
    {
        if (end < 0) end = raw.Length;
        var headers = new List<(string, string)>();
        int i = start;
        // An mbox "From " separator line precedes the headers in this corpus.
        if (end - i > 5 && raw[i] == 'F' && raw[i + 1] == 'r' && raw[i + 2] == 'o' && raw[i + 3] == 'm' && raw[i + 4] == ' ') i = NextLine(raw, i, end);
        string? name = null;
        var value = new StringBuilder();
        while (i < end)
        {
            int lineEnd = NextLine(raw, i, end);
            string line = Encoding.Latin1.GetString(raw, i, lineEnd - i).TrimEnd('\r', '\n');
            i = lineEnd;
            if (line.Length == 0) break;
            if ((line[0] == ' ' || line[0] == '\t') && name != null) { value.Append(' ').Append(line.Trim()); continue; }
            if (name != null) headers.Add((name, value.ToString()));
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0) { name = null; continue; }
            name = line[..colon].Trim().ToLowerInvariant();
            value.Clear().Append(line[(colon + 1)..].Trim());
        }
        if (name != null) headers.Add((name, value.ToString()));
        return (headers, i);
    }

    private static int NextLine(byte[] raw, int i, int end)
    {
        int n = Array.IndexOf(raw, (byte)'\n', i, end - i);
        return n < 0 ? end : n + 1;
    }

    private static IEnumerable<(int Start, int End)> Parts(byte[] raw, int start, int end, string boundary)
    {
        byte[] marker = Encoding.Latin1.GetBytes("--" + boundary);
        int partStart = -1;
        int i = start;
        while (i < end)
        {
            int lineEnd = NextLine(raw, i, end);
            bool isBoundary = lineEnd - i >= marker.Length && raw.AsSpan(i, marker.Length).SequenceEqual(marker);
            if (isBoundary)
            {
                if (partStart >= 0) yield return (partStart, i);
                bool closing = lineEnd - i >= marker.Length + 2 && raw[i + marker.Length] == '-' && raw[i + marker.Length + 1] == '-';
                if (closing) yield break;
                partStart = lineEnd;
            }
            i = lineEnd;
        }
        if (partStart >= 0 && partStart < end) yield return (partStart, end);
    }

    private static string? Header(List<(string Name, string Value)> headers, string name) =>
        headers.FirstOrDefault(h => h.Name == name).Value;

    private static string? Parameter(string headerValue, string name)
    {
        var match = Regex.Match(headerValue, name + @"\s*=\s*(?:""([^""]*)""|([^;\s]+))", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        return match.Success ? (match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value).Trim() : null;
    }

    private static byte[] DecodeTransfer(string? encoding, ReadOnlySpan<byte> body)
    {
        string e = (encoding ?? "").Trim().ToLowerInvariant();
        if (e == "base64")
        {
            var chars = new StringBuilder(body.Length);
            foreach (byte b in body) if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'+' or (byte)'/') chars.Append((char)b);
            // Padding is re-added (it may be missing or broken); a lone trailing sextet carries no whole byte.
            if (chars.Length % 4 == 1) chars.Length--;
            if (chars.Length % 4 != 0) chars.Append('=', 4 - chars.Length % 4);
            try { return System.Convert.FromBase64String(chars.ToString()); }
            catch (FormatException) { return body.ToArray(); }
        }
        if (e == "quoted-printable") return DecodeQuotedPrintable(body, underscoreIsSpace: false);
        return body.ToArray();
    }

    private static byte[] DecodeQuotedPrintable(ReadOnlySpan<byte> input, bool underscoreIsSpace)
    {
        var output = new List<byte>(input.Length);
        for (int i = 0; i < input.Length; i++)
        {
            byte b = input[i];
            if (b == '=' && i + 1 < input.Length)
            {
                if (input[i + 1] == '\n') { i++; continue; }
                if (input[i + 1] == '\r' && i + 2 < input.Length && input[i + 2] == '\n') { i += 2; continue; }
                if (i + 2 < input.Length && Uri.IsHexDigit((char)input[i + 1]) && Uri.IsHexDigit((char)input[i + 2]))
                {
                    output.Add((byte)(Uri.FromHex((char)input[i + 1]) * 16 + Uri.FromHex((char)input[i + 2])));
                    i += 2;
                    continue;
                }
            }
            output.Add(underscoreIsSpace && b == '_' ? (byte)' ' : b);
        }
        return output.ToArray();
    }

    /// <summary>Declared charset when .NET knows it (aliases such as "3Diso-8859-1", a quoted-printable artefact,
    /// included), strict UTF-8 when the bytes are valid UTF-8, Windows-1252 otherwise; never throws.</summary>
    internal static string DecodeCharset(byte[] bytes, string? charset)
    {
        string name = (charset ?? "").Trim().Trim('"', '\'').ToLowerInvariant();
        if (name.StartsWith("3d", StringComparison.Ordinal)) name = name[2..];
        Encoding? declared = null;
        if (name.Length > 0 && name is not ("us-ascii" or "ascii" or "default" or "default_charset"))
        {
            try { declared = Encoding.GetEncoding(name, EncoderFallback.ReplacementFallback, DecoderFallback.ReplacementFallback); }
            catch (ArgumentException) { declared = null; }
        }
        if (declared != null && declared is not UTF8Encoding) return declared.GetString(bytes);
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { return Encoding.GetEncoding(1252).GetString(bytes); }
    }

    /// <summary>RFC 2047 encoded words (=?charset?B|Q?…?=) in a header value.</summary>
    internal static string DecodeHeaderValue(string value) =>
        EncodedWord().Replace(value, m =>
        {
            byte[] bytes = m.Groups[2].Value.Equals("B", StringComparison.OrdinalIgnoreCase)
                ? DecodeTransfer("base64", Encoding.Latin1.GetBytes(m.Groups[3].Value))
                : DecodeQuotedPrintable(Encoding.Latin1.GetBytes(m.Groups[3].Value), underscoreIsSpace: true);
            return DecodeCharset(bytes, m.Groups[1].Value);
        }).Replace("?= =?", "", StringComparison.Ordinal);

    /// <summary>List tags ("[ILUG]", "[SAtalk]", "[Spambayes]") name the mailing list, which almost decides the label.</summary>
    internal static string CleanSubject(string subject) => NormalizeWhitespace(ListTag().Replace(subject, " ")).Replace("\n", " ", StringComparison.Ordinal).Trim();

    private static bool LooksLikeHtml(string text) =>
        text.Contains("<html", StringComparison.OrdinalIgnoreCase) || text.Contains("<body", StringComparison.OrdinalIgnoreCase)
        || text.Contains("<table", StringComparison.OrdinalIgnoreCase) || text.Contains("<font", StringComparison.OrdinalIgnoreCase);

    internal static string HtmlToText(string html)
    {
        string text = ScriptOrStyle().Replace(html, " ");
        text = HtmlComment().Replace(text, " ");
        text = BlockTag().Replace(text, "\n");
        text = AnyTag().Replace(text, " ");
        return WebUtility.HtmlDecode(text);
    }

    internal static string NormalizeWhitespace(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n')
            .Select(l => SpaceRun().Replace(l.Replace('\u00a0', ' '), " ").Trim());
        return BlankLines().Replace(string.Join("\n", lines), "\n\n").Trim();
    }

    [GeneratedRegex(@"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")]
    private static partial Regex EncodedWord();

    [GeneratedRegex(@"\[[^\[\]\s]{1,40}\]")]
    private static partial Regex ListTag();

    [GeneratedRegex(@"<(script|style)\b.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex ScriptOrStyle();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex HtmlComment();

    [GeneratedRegex(@"<\s*(br|/p|p|/div|/tr|/li|/h[1-6]|/table)\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockTag();

    [GeneratedRegex(@"<[^>]*>", RegexOptions.Singleline)]
    private static partial Regex AnyTag();

    [GeneratedRegex(@"[ \t\f\v]+")]
    private static partial Regex SpaceRun();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();
}
