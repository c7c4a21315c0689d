using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace PredGen.Training.Tests.Data;

/// <summary>Small npm-style tarballs (package/data/...) shaped like the real packages, made in the test: the
/// conversion and split code runs offline on them exactly as it runs on the downloaded tarballs.</summary>
internal static class DataFixtures
{
    public static string Tarball(string directory, string name, IEnumerable<(string Path, byte[] Content)> files)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name);
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (p, content) in files)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "package/" + p) { DataStream = new MemoryStream(content) };
            writer.WriteEntry(entry);
        }
        return path;
    }

    public static IEnumerable<(string, byte[])> SpamFiles()
    {
        for (int i = 0; i < 30; i++)
            yield return ($"data/easy-ham-1/{i:00000}.{i:x32}.txt", Encoding.ASCII.GetBytes(
                $"From list@example.org  Tue Aug  6 11:51:02 2002\nReceived: from relay{i}.example.org\nFrom: alice{i}@example.org\n" +
                $"Subject: [ILUG] meeting notes {i}\nContent-Type: text/plain; charset=us-ascii\n\nHi all, notes number {i} follow.\nThanks\n"));
        // The same text twice (different Received headers): an exact duplicate after conversion.
        for (int i = 0; i < 2; i++)
            yield return ($"data/easy-ham-2/{i:00000}.{i + 100:x32}.txt", Encoding.ASCII.GetBytes(
                $"Received: from other{i}\nSubject: duplicate body\n\nThis body appears twice.\n"));
        for (int i = 0; i < 12; i++)
        {
            string html = Convert.ToBase64String(Encoding.UTF8.GetBytes($"<html><body><p>WIN <b>money</b> now {i}</p><script>x()</script></body></html>"));
            yield return ($"data/spam-1/{i:00000}.{i + 200:x32}.txt", Encoding.ASCII.GetBytes(
                $"From: spammer@example.com\nSubject: =?iso-8859-1?Q?caf=E9_offer_{i}?=\nMIME-Version: 1.0\n" +
                "Content-Type: multipart/alternative; boundary=\"XYZ\"\n\n--XYZ\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n" +
                html + "\n--XYZ--\n"));
        }
        yield return ("data/spam-2/00001.ffffffffffffffffffffffffffffffff.txt", Encoding.Latin1.GetBytes(
            "Subject: plain latin\nContent-Type: text/plain; charset=\"iso-8859-1\"\nContent-Transfer-Encoding: quoted-printable\n\nna=EFve caf=E9 deal=\n continues\n"));
    }

    public static IEnumerable<(string, byte[])> SotuFiles()
    {
        string[] parties = ["Democratic", "Republican", "Whig", "Democratic", "Republican"];
        for (int s = 0; s < 20; s++)
        {
            int year = 1850 + s * 5;
            var words = string.Join(' ', Enumerable.Range(0, 300 + s * 7).Select(w => $"w{s}x{w}"));
            var json = JsonSerializer.Serialize(new Dictionary<string, object> { ["year"] = year, ["name"] = $"President {s}", ["party"] = parties[s % parties.Length], ["text"] = words });
            yield return ($"data/{year}_president_{s}_x.json", Encoding.UTF8.GetBytes(json));
            yield return ($"data/{year}_president_{s}_x.txt", Encoding.UTF8.GetBytes(words));
        }
    }

    public static IEnumerable<(string, byte[])> CmuDictFiles()
    {
        var dict = new StringBuilder(";;; # CMUdict comment\n");
        dict.Append("ABANDON  AH0 B AE1 N D AH0 N\nABANDON(1)  AH0 B AE1 N D IH0 N\n!EXCLAMATION-POINT  EH2 K S K L AH0 M EY1 SH AH0 N\n");
        dict.Append("CAT  K AE1 T\nELEPHANT  EH1 L AH0 F AH0 N T\nO'BRIEN  OW0 B R AY1 AH0 N\n");
        for (int i = 0; i < 60; i++) dict.Append(CultureInfo.InvariantCulture, $"WORD{(char)('A' + i % 26)}{(char)('A' + i / 26)}  W ER1 D AH0\n");
        yield return ("data/dict.txt", Encoding.Latin1.GetBytes(dict.ToString()));
    }
}
