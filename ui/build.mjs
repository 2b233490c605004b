// Builds the web UI into the Python package: one hashed JS bundle, one hashed CSS file
// (uPlot's included) and an index.html naming them. Usage: node ui/build.mjs OUT_DIR
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) throw new Error("usage: node build.mjs OUT_DIR");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((file) => file.endsWith(".js"));
const style = outputs.find((file) => file.endsWith(".css"));
const page = readFileSync(join(here, "index.html"), "utf8")
  .replace("%SCRIPT%", `assets/${script}`)
  .replace("%STYLE%", `assets/${style}`);
writeFileSync(join(out, "index.html"), page);
