using System.Text;
using PredGen.Training.Data;
using PredGen.Tooling.Data;

namespace PredGen.Training.Tests.Data;

public sealed class MailTextTests
{
    static MailTextTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private static string Convert(string message) => MailText.Convert(Encoding.Latin1.GetBytes(message.Replace("\r\n", "\n", StringComparison.Ordinal)));

    [Fact]
    public void Encoded_words_folded_over_two_lines_join_and_the_body_takes_the_subjects_charset_when_it_declares_none()
    {
        // "スパム" in Shift_JIS, split into two encoded words on two header lines (RFC 2047: the space between them goes).
        string message = "From someone Sat Jul 20 2002\nSubject: =?shift_jis?B?g1g=?=\n =?shift_jis?B?g3CDgA==?= [SAtalk]\nX-Spam-Status: Yes\n\n" +
            Encoding.Latin1.GetString(Encoding.GetEncoding("shift_jis").GetBytes("本文です"));
        Assert.Equal("Subject: スパム\n\n本文です", Convert(message));
    }

    [Fact]
    public void A_multipart_keeps_plain_text_skips_attachments_and_falls_back_to_html_without_script()
    {
        string withPlain = "Subject: both\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nplain words\n" +
            "--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"x.txt\"\n\nattached words\n--B--\n";
        string htmlOnly = "Subject: html\nContent-Type: multipart/alternative; boundary=\"B\"\n\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n" +
            "<html><script>var hidden=1;</script><style>p{}</style><p>Hello&nbsp;<b>wor=\nld</b></p><p>caf=E9 &amp; more</p></html>\n--B--\n";

        Assert.Equal("Subject: both\n\nplain words", Convert(withPlain));
        Assert.Equal("Subject: html\n\nHello world\n\ncafé & more", Convert(htmlOnly));
    }

    [Fact]
    public void Text_without_a_header_block_is_kept_as_it_is()
    {
        Assert.Equal("Subject: \n\njust some text", Convert("just some text\n"));
    }
}
