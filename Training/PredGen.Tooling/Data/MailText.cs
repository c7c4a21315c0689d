using System.Text;
using System.Text.RegularExpressions;
using MimeKit;
using MimeKit.Text;
using MimeKit.Utils;

namespace PredGen.Tooling.Data;

/// <summary>
/// Turns a raw RFC 822 message into the text a classifier may see: "Subject: …" and the readable body. MimeKit does
/// the MIME (header folding, RFC 2047 encoded words, multipart trees, base64 and quoted-printable, HTML to text); the
/// rules are the project's: every header but Subject goes (Received, From, List-Id, X-Spam-* give the label away),
/// list tags such as "[ILUG]" leave the subject, attachments and non-text parts are skipped, a multipart keeps its plain
/// text parts and falls back to its HTML ones, and body bytes are decoded with the declared charset when .NET knows
/// it, as strict UTF-8 when valid, else as Windows-1252. Lenient by design: a 2002 spam corpus is full of malformed
/// headers, and a message that cannot be parsed still yields whatever text it has.
/// </summary>
public static partial class MailText
{
    private const int MaxMultipartDepth = 8;

    /// <summary>Undeclared 8-bit header bytes: UTF-8 when valid (MimeKit tries it first), else Windows-1252.</summary>
    private static readonly ParserOptions Options = CreateOptions();

    private static ParserOptions CreateOptions()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance); // Windows-1252, Big5, Shift_JIS, ... on .NET
        return new ParserOptions { CharsetEncoding = Encoding.GetEncoding(1252) };
    }

    public static string Convert(byte[] raw, int maxChars = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(raw);
        string result;
        try
        {
            result = Convert(Parse(raw));
        }
        catch (FormatException)
        {
            result = "Subject: \n\n" + NormalizeWhitespace(DecodeCharset(raw, null)); // no parseable header block: the text as it is
        }
        return result.Length <= maxChars ? result : result[..maxChars].TrimEnd();
    }

    private static MimeMessage Parse(byte[] raw)
    {
        // An mbox "From " separator line precedes the headers in this corpus.
        int start = 0;
        if (raw.Length > 5 && raw.AsSpan(0, 5).SequenceEqual("From "u8))
        {
            int newline = Array.IndexOf(raw, (byte)'\n');
            start = newline < 0 ? raw.Length : newline + 1;
        }
        using var stream = new MemoryStream(raw, start, raw.Length - start, writable: false);
        return MimeMessage.Load(Options, stream);
    }

    private static string Convert(MimeMessage message)
    {
        var subjectHeader = message.Headers.FirstOrDefault(h => h.Id == HeaderId.Subject);
        string subject = subjectHeader is null ? "" : CleanSubject(Rfc2047.DecodeText(Options, subjectHeader.RawValue));
        // A body without a declared charset is most often in the charset of the subject's encoded words (Big5,
        // Shift_JIS spam); Windows-1252 would turn it into mojibake.
        var subjectCharset = subjectHeader is null ? Match.Empty : EncodedWordCharset().Match(Encoding.Latin1.GetString(subjectHeader.RawValue));
        string text = message.Body is null ? "" : BodyText(message.Body, depth: 0, subjectCharset.Success ? subjectCharset.Groups[1].Value : null);
        return ("Subject: " + subject + "\n\n" + NormalizeWhitespace(text)).Trim();
    }

    private static string BodyText(MimeEntity entity, int depth, string? fallbackCharset)
    {
        switch (entity)
        {
            case Multipart multipart when depth < MaxMultipartDepth:
            {
                var plain = new List<string>();
                var html = new List<string>();
                foreach (var part in multipart)
                {
                    if (part.IsAttachment) continue;
                    if (part is Multipart) plain.Add(BodyText(part, depth + 1, fallbackCharset));
                    else if (part is TextPart { IsHtml: true }) html.Add(BodyText(part, depth + 1, fallbackCharset));
                    else if (part is TextPart) plain.Add(BodyText(part, depth + 1, fallbackCharset));
                }
                var chosen = plain.Any(p => p.Trim().Length > 0) ? plain : html;
                return string.Join("\n\n", chosen);
            }
            case TextPart part:
            {
                byte[] bytes = Decoded(part);
                string text = DecodeCharset(bytes, part.ContentType.Charset ?? fallbackCharset);
                return part.IsHtml || LooksLikeHtml(text) ? HtmlToText(text) : text;
            }
            default:
                return ""; // images, applications, attached messages, multiparts nested too deep
        }
    }

    /// <summary>The part's bytes with the transfer encoding (base64, quoted-printable, ...) undone by MimeKit.</summary>
    private static byte[] Decoded(MimePart part)
    {
        if (part.Content is null) return [];
        using var output = new MemoryStream();
        part.Content.DecodeTo(output);
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

    /// <summary>List tags ("[ILUG]", "[SAtalk]", "[Spambayes]") name the mailing list, which almost decides the label.</summary>
    internal static string CleanSubject(string subject) => NormalizeWhitespace(ListTag().Replace(subject, " ")).Replace("\n", " ", StringComparison.Ordinal).Trim();

    private static bool LooksLikeHtml(string text) =>
        text.Contains("<html", StringComparison.OrdinalIgnoreCase) || text.Contains("<body", StringComparison.OrdinalIgnoreCase)
        || text.Contains("<table", StringComparison.OrdinalIgnoreCase) || text.Contains("<font", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// HTML through MimeKit's HTML tokenizer (which decodes entities and knows comments, CDATA and script data), with
    /// the project's rules: text is kept, script and style bodies are not, block-closing tags and &lt;br&gt; break the line,
    /// any other tag separates words.
    /// </summary>
    internal static string HtmlToText(string html)
    {
        var text = new StringBuilder(html.Length);
        using var reader = new StringReader(html);
        var tokenizer = new HtmlTokenizer(reader);
        bool inStyle = false;
        while (tokenizer.ReadNextToken(out var token))
        {
            switch (token)
            {
                case HtmlScriptDataToken:
                    break;
                case HtmlDataToken data when !inStyle && token.Kind == HtmlTokenKind.Data:
                    text.Append(data.Data);
                    break;
                case HtmlTagToken tag:
                    if (tag.Id == HtmlTagId.Style) inStyle = !tag.IsEndTag;
                    text.Append(BreaksLine(tag) ? '\n' : ' ');
                    break;
            }
        }
        return text.ToString();
    }

    private static bool BreaksLine(HtmlTagToken tag) => tag.Id switch
    {
        HtmlTagId.Br or HtmlTagId.P => true,
        HtmlTagId.Div or HtmlTagId.TR or HtmlTagId.LI or HtmlTagId.Table
            or HtmlTagId.H1 or HtmlTagId.H2 or HtmlTagId.H3 or HtmlTagId.H4 or HtmlTagId.H5 or HtmlTagId.H6 => tag.IsEndTag,
        _ => false,
    };

    internal static string NormalizeWhitespace(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n')
            .Select(l => SpaceRun().Replace(l.Replace('\u00a0', ' '), " ").Trim());
        return BlankLines().Replace(string.Join("\n", lines), "\n\n").Trim();
    }

    [GeneratedRegex(@"=\?([^?\s*]+)(?:\*[^?\s]*)?\?[BbQq]\?")]
    private static partial Regex EncodedWordCharset();

    [GeneratedRegex(@"\[[^\[\]\s]{1,40}\]")]
    private static partial Regex ListTag();

    [GeneratedRegex(@"[ \t\f\v]+")]
    private static partial Regex SpaceRun();

    [GeneratedRegex(@"\n{3,}")]
    private static partial Regex BlankLines();
}
