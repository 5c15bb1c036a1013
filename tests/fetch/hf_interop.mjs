// The Hugging Face hub cache as @huggingface/hub (npm) sees it, for hub_interop_test.cpp:
//   node hf_interop.mjs scan <hub dir>                        scanCacheDir, as JSON
//   node hf_interop.mjs resolve <hub dir> <repo> <commit> <path>  the snapshot file the library
//        resolves offline (a 40-hex revision whose file exists needs no network; the hub URL given
//        is a closed port to prove it), and the sha256 of what it reads there
//   node hf_interop.mjs snapshot <hub dir> <hub url> <repo>   snapshotDownload into the cache
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { downloadFileToCacheDir, scanCacheDir, snapshotDownload } from "@huggingface/hub";

const [mode, ...args] = process.argv.slice(2);
if (mode === "scan") {
  const info = await scanCacheDir(args[0]);
  console.log(JSON.stringify({
    size: info.size,
    warnings: info.warnings.map((w) => String(w.message ?? w)),
    repos: info.repos.map((r) => ({
      name: r.id.name, type: r.id.type, filesCount: r.filesCount, size: r.size,
      revisions: r.revisions.map((v) => ({
        commitOid: v.commitOid, refs: v.refs, size: v.size,
        files: v.files.map((f) => ({ name: basename(f.path), size: f.blob.size, blob: basename(f.blob.path) })),
      })),
    })),
  }));
} else if (mode === "resolve") {
  const [cacheDir, repo, revision, path] = args;
  const pointer = await downloadFileToCacheDir({ repo, path, revision, cacheDir, hubUrl: "http://127.0.0.1:9" });
  const data = await readFile(pointer);
  console.log(JSON.stringify({ pointer, sha256: createHash("sha256").update(data).digest("hex") }));
} else if (mode === "snapshot") {
  const [cacheDir, hubUrl, repo] = args;
  console.log(JSON.stringify({ folder: await snapshotDownload({ repo, cacheDir, hubUrl }) }));
} else {
  console.error("usage: hf_interop.mjs scan|resolve|snapshot ...");
  process.exit(2);
}
