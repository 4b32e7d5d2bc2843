using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Nn.Simd.Cli.Data;

/// <summary>A file to download and the SHA-256 (hex) it must have.</summary>
/// <param name="Name">The file name, appended to the base URL and used in the target directory.</param>
/// <param name="Sha256">The expected SHA-256 of the file as downloaded.</param>
public sealed record RemoteFile(string Name, string Sha256);

/// <summary>What happened to one file during a fetch.</summary>
public enum FetchOutcome
{
    /// <summary>The file was already present with the right checksum; nothing was downloaded.</summary>
    AlreadyPresent,

    /// <summary>The file was downloaded from the start.</summary>
    Downloaded,

    /// <summary>An interrupted download (<c>.part</c>) was completed with an HTTP Range request.</summary>
    Resumed,
}

/// <summary>
/// Downloads the four official Fashion-MNIST files and verifies each one's SHA-256.
/// </summary>
/// <remarks>
/// Each file is written to <c>&lt;file&gt;.part</c>, verified, then renamed, so a finished name always holds a
/// verified file. An existing <c>.part</c> is resumed with <c>Range: bytes=&lt;length&gt;-</c>; a server that
/// ignores the range (200) restarts the file, and one that answers 416 leaves the <c>.part</c> to be verified
/// as it is. A checksum mismatch deletes the <c>.part</c> and fails. Files already present and valid are skipped;
/// a present file with a wrong checksum is an error (it is not overwritten).
/// </remarks>
public static class FashionMnistFetcher
{
    /// <summary>The upstream location of the files (Zalando Research's S3 website).</summary>
    public static Uri DefaultBaseUrl { get; } = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");

    /// <summary>The four official files with their published SHA-256.</summary>
    public static IReadOnlyList<RemoteFile> OfficialFiles { get; } =
        FashionMnist.FileNames.Select(n => new RemoteFile(n, FashionMnist.GzipSha256[n])).ToArray();

    /// <summary>Downloads the official files into <paramref name="directory"/> (created if needed).</summary>
    /// <param name="directory">The target directory, normally <c>&lt;data&gt;/fashion-mnist</c>.</param>
    /// <param name="baseUrl">Where the files are; <see cref="DefaultBaseUrl"/> when null.</param>
    /// <param name="log">Receives one progress line per file.</param>
    /// <param name="cancellationToken">Cancels the download (the <c>.part</c> is kept for resuming).</param>
    /// <returns>The outcome per file, in order.</returns>
    /// <exception cref="DataException">A download fails or a checksum does not match.</exception>
    public static Task<IReadOnlyList<FetchOutcome>> FetchAsync(string directory, Uri? baseUrl, TextWriter log, CancellationToken cancellationToken = default) =>
        FetchAsync(directory, baseUrl ?? DefaultBaseUrl, OfficialFiles, handler: null, log, cancellationToken);

    /// <summary>Downloads <paramref name="files"/> (tests pass small fake files with their checksums).</summary>
    internal static async Task<IReadOnlyList<FetchOutcome>> FetchAsync(
        string directory, Uri baseUrl, IReadOnlyList<RemoteFile> files, HttpMessageHandler? handler, TextWriter log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(log);
        if (!baseUrl.AbsoluteUri.EndsWith('/')) baseUrl = new Uri(baseUrl.AbsoluteUri + "/");

        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DataException($"{directory}: cannot create the directory ({ex.Message}).", ex);
        }

        using var client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        client.Timeout = TimeSpan.FromMinutes(30);
        var outcomes = new List<FetchOutcome>(files.Count);
        foreach (RemoteFile file in files)
        {
            outcomes.Add(await FetchOneAsync(client, directory, baseUrl, file, log, cancellationToken).ConfigureAwait(false));
        }
        return outcomes;
    }

    private static async Task<FetchOutcome> FetchOneAsync(
        HttpClient client, string directory, Uri baseUrl, RemoteFile file, TextWriter log, CancellationToken ct)
    {
        string target = Path.Combine(directory, file.Name);
        string part = target + ".part";
        var url = new Uri(baseUrl, file.Name);

        if (File.Exists(target))
        {
            string actual = await HashFileAsync(target, ct).ConfigureAwait(false);
            if (Matches(actual, file.Sha256))
            {
                log.WriteLine($"{file.Name}: already present, SHA-256 verified.");
                return FetchOutcome.AlreadyPresent;
            }
            throw new DataException(
                $"{target}: already exists but its SHA-256 is {actual}, expected {file.Sha256}. Delete it and fetch again.");
        }

        long resumeFrom = File.Exists(part) ? new FileInfo(part).Length : 0;
        bool resumed = false;
        using (var request = new HttpRequestMessage(HttpMethod.Get, url))
        {
            if (resumeFrom > 0) request.Headers.Range = new RangeHeaderValue(resumeFrom, null);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                throw new DataException($"{url}: download failed ({ex.Message}).", ex);
            }
            catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
            {
                throw new DataException($"{url}: download timed out.", ex);
            }

            using (response)
            {
                if (resumeFrom > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                {
                    // The .part is already as long as the file (or longer); verification below decides.
                    log.WriteLine($"{file.Name}: server reports the partial download is complete ({resumeFrom:N0} bytes).");
                    resumed = true;
                }
                else if (!response.IsSuccessStatusCode)
                {
                    throw new DataException($"{url}: download failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
                }
                else
                {
                    bool append = resumeFrom > 0 && response.StatusCode == HttpStatusCode.PartialContent;
                    if (append)
                    {
                        long? start = response.Content.Headers.ContentRange?.From;
                        if (start != resumeFrom)
                            throw new DataException(
                                $"{url}: asked to resume at byte {resumeFrom} but the server sent a range starting at {start?.ToString() ?? "an unknown offset"}. Delete {part} and fetch again.");
                        resumed = true;
                        log.WriteLine($"{file.Name}: resuming at byte {resumeFrom:N0}.");
                    }
                    else if (resumeFrom > 0)
                    {
                        log.WriteLine($"{file.Name}: server ignored the range request; downloading from the start.");
                    }

                    long written = await CopyToPartAsync(response, part, append, url, ct).ConfigureAwait(false);
                    log.WriteLine($"{file.Name}: received {written:N0} bytes.");
                }
            }
        }

        string hash = await HashFileAsync(part, ct).ConfigureAwait(false);
        if (!Matches(hash, file.Sha256))
        {
            TryDelete(part);
            throw new DataException(
                $"{url}: checksum mismatch: the download's SHA-256 is {hash}, expected {file.Sha256}. " +
                $"The partial file was deleted; run the fetch again (or check --url).");
        }
        File.Move(part, target, overwrite: false);
        log.WriteLine($"{file.Name}: SHA-256 verified, saved to {target}.");
        return resumed ? FetchOutcome.Resumed : FetchOutcome.Downloaded;
    }

    private static async Task<long> CopyToPartAsync(HttpResponseMessage response, string part, bool append, Uri url, CancellationToken ct)
    {
        try
        {
            await using var output = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await using Stream input = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            long before = output.Position;
            await input.CopyToAsync(output, 1 << 16, ct).ConfigureAwait(false);
            return output.Position - before;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            throw new DataException($"{url}: download interrupted ({ex.Message}); {part} is kept and the next fetch resumes it.", ex);
        }
    }

    private static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        byte[] hash = await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    private static bool Matches(string actual, string expected) => string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the error message already tells the user what went wrong.
        }
    }
}
