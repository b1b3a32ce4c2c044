/**
 * Runs `portcullis check` over a directory of real KrakenD configs and sorts
 * each file into accepted / refused-justified / refused-wrong, so the
 * compatibility claim is a measured number rather than an impression
 * (docs/krakend-corpus.md records the corpus and the results).
 *
 *   npm run compat:corpus -- <dir> [--cli <path to a built cli main.js>] [--json]
 *
 * The CLI is spawned rather than imported so an older build (a checkout from
 * before a change) can be measured with the same script: `--cli` defaults to
 * this checkout's dist/src/cli/main.js.
 *
 * A refusal is justified when every error is covered by a rule of
 * JUSTIFIED_RULES (a fail-closed refusal of a feature portcullis does not
 * implement, a documented strictness, or a file KrakenD would reject too).
 * Anything else is a valid KrakenD config refused for a reason KrakenD accepts.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export type Verdict = 'accepted' | 'refused-justified' | 'refused-wrong';

export interface CheckError {
  /** JSON path (`$.endpoints[0]…`), or the file position for parse errors. */
  path: string;
  message: string;
}

export interface FileResult {
  file: string;
  verdict: Verdict;
  warnings: number;
  errors: CheckError[];
  /** One line: the first error not covered by a rule, or the first rule's reason. */
  reason: string;
}

/** Encodings KrakenD implements that portcullis refuses instead of rendering differently. */
const KRAKEND_ONLY_ENCODINGS = new Set(['xml', 'rss', 'yaml', 'negotiate', 'fast-json', 'json-collection']);

/** Namespaces that replace the HTTP call; errors elsewhere in such a backend follow from that refusal. */
const NON_HTTP_BACKEND = /\["backend\/(grpc|soap|graphql|lambda|amqp\/[^"]+|pubsub\/[^"]+|static-filesystem)"\]$/;

/** Namespaces whose every key portcullis checks (docs/configuration.md, "Misspelled"). */
const STRICT_NAMESPACE = /\["(auth\/validator|auth\/signer|github\.com\/devopsfaith\/krakend-jose\/(validator|signer))"\]|^\$\.tls\b/;

interface RuleContext {
  config: unknown;
  errors: CheckError[];
}

interface Rule {
  name: string;
  /** Returns the justification, or undefined when the rule does not cover the error. */
  test(error: CheckError, ctx: RuleContext): string | undefined;
}

/**
 * The judgement, written down. Order matters only for the reason shown; an
 * error is justified if any rule covers it.
 */
export const JUSTIFIED_RULES: readonly Rule[] = [
  {
    name: 'unimplemented feature refused',
    test: (e) => {
      const m = /^"([^"]+)" is not supported by portcullis; refusing/.exec(e.message);
      return m ? `unimplemented "${m[1]}" refused (fail-closed)` : undefined;
    },
  },
  {
    name: 'KrakenD-only encoding refused',
    test: (e, ctx) => {
      if (!/^must be one of "json"|^the "[^"]+" decoder is not implemented by portcullis/.test(e.message)) return undefined;
      const value = valueAt(ctx.config, e.path);
      return typeof value === 'string' && KRAKEND_ONLY_ENCODINGS.has(value)
        ? `encoding "${value}" not implemented (refused rather than rendered differently)`
        : undefined;
    },
  },
  {
    name: 'unknown key inside a strictly checked namespace',
    test: (e) =>
      /^unknown key/.test(e.message) && STRICT_NAMESPACE.test(e.path)
        ? 'strict by design: unknown key inside auth/validator, auth/signer or tls (KrakenD ignores it)'
        : undefined,
  },
  {
    name: 'key file referenced by the config is absent',
    test: (e) =>
      /^cannot read JWKS? file /.test(e.message)
        ? 'environment: the key file the config names is not in the corpus (KrakenD fails too)'
        : undefined,
  },
  {
    name: 'follows from a refused non-HTTP backend',
    test: (e, ctx) => {
      const backend = /^(\$\.endpoints\[\d+\]\.backend\[\d+\])/.exec(e.path)?.[1];
      if (backend === undefined) return undefined;
      const covered = ctx.errors.some(
        (other) => other.path.startsWith(`${backend}.extra_config`) && NON_HTTP_BACKEND.test(other.path),
      );
      return covered ? 'follows from the refused non-HTTP backend in the same backend object' : undefined;
    },
  },
];

/** Why a refusal is wrong, for the messages seen in the corpus; the default names the message. */
const WRONG_REASONS: readonly { pattern: RegExp; reason: (e: CheckError, config: unknown) => string }[] = [
  {
    pattern: /^must start with "http:\/\/" or "https:\/\/"/,
    reason: () => 'schemeless host refused; KrakenD adds http://',
  },
  {
    pattern: /^must be one of "json"/,
    reason: (e, config) => {
      const value = JSON.stringify(valueAt(config, e.path));
      return value === '"safejson"'
        ? 'encoding "safejson" refused; KrakenD implements it'
        : `encoding ${value} refused; KrakenD decodes an unknown name as json`;
    },
  },
  {
    pattern: /^must be a string or a list of strings/,
    reason: () => 'audience [] refused; KrakenD treats it as no audience check',
  },
];

/** Classifies one file from the CLI's exit code and output. */
export function classify(file: string, text: string, exitCode: number, output: string): FileResult {
  const lines = output.split('\n');
  const warnings = lines.filter((l) => l.startsWith('WARNING ')).length;
  const errors = lines.filter((l) => l.startsWith('ERROR ')).map(parseErrorLine);
  const name = basename(file);
  if (exitCode === 0) {
    return { file: name, verdict: 'accepted', warnings, errors, reason: `${warnings} warning(s)` };
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    // JSON.parse, like Go's encoding/json, rejects what KrakenD's loader rejects (a template, trailing data).
    const reason = text.includes('{{') ? 'Flexible Config template, not JSON (KrakenD needs FC_ENABLE too)' : 'invalid JSON (KrakenD rejects it too)';
    return { file: name, verdict: 'refused-justified', warnings, errors, reason: `${reason}: ${firstError(errors)}` };
  }
  const ctx: RuleContext = { config, errors };
  let firstJustification: string | undefined;
  for (const error of errors) {
    const justification = JUSTIFIED_RULES.map((rule) => rule.test(error, ctx)).find((j) => j !== undefined);
    if (justification === undefined) {
      const known = WRONG_REASONS.find((w) => w.pattern.test(error.message));
      const why = known ? known.reason(error, config) : 'no justified-refusal rule covers it';
      return { file: name, verdict: 'refused-wrong', warnings, errors, reason: `${why}: ${error.path}: ${error.message}` };
    }
    firstJustification ??= justification;
  }
  return {
    file: name,
    verdict: errors.length > 0 ? 'refused-justified' : 'refused-wrong',
    warnings,
    errors,
    reason: firstJustification ?? `exit code ${exitCode} without an ERROR line`,
  };
}

function parseErrorLine(line: string): CheckError {
  const body = line.replace(/^ERROR (parsing the configuration file: )?/, '');
  const at = body.indexOf(': ');
  return at < 0 ? { path: '', message: body } : { path: body.slice(0, at), message: body.slice(at + 2) };
}

function firstError(errors: CheckError[]): string {
  const e = errors[0];
  return e === undefined ? '' : `${e.path}: ${e.message}`;
}

/** Resolves `$.a[0]["b/c"].d` in a parsed config; undefined when absent. */
export function valueAt(root: unknown, path: string): unknown {
  if (!path.startsWith('$')) return undefined;
  const tokens = path.slice(1).match(/\.[^.[\]]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\]/g) ?? [];
  let node: unknown = root;
  for (const token of tokens) {
    if (node === null || typeof node !== 'object') return undefined;
    const key = token.startsWith('.')
      ? token.slice(1)
      : token.startsWith('["')
        ? (JSON.parse(token.slice(1, -1)) as string)
        : Number(token.slice(1, -1));
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

export interface CorpusOptions {
  dir: string;
  cli: string;
}

export function runCorpus({ dir, cli }: CorpusOptions): FileResult[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((f) => {
    const file = join(dir, f);
    const run = spawnSync(process.execPath, [cli, 'check', '-c', file], { encoding: 'utf8' });
    // Messages name the file by its absolute path; the report must not carry a machine's directory.
    const output = `${run.stdout}\n${run.stderr}`.replaceAll(`${dir}${sep}`, '');
    return classify(file, readFileSync(file, 'utf8'), run.status ?? 1, output);
  });
}

export function totals(results: FileResult[]): Record<Verdict, number> {
  const count: Record<Verdict, number> = { accepted: 0, 'refused-justified': 0, 'refused-wrong': 0 };
  for (const r of results) count[r.verdict] += 1;
  return count;
}

export function markdown(results: FileResult[]): string {
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const rows = results.map(
    (r) => `| ${r.file} | ${r.verdict} | ${r.errors.length} | ${cell(r.verdict === 'accepted' ? `${r.warnings} warning(s)` : r.reason)} |`,
  );
  const t = totals(results);
  return [
    '| file | result | errors | first error / reason |',
    '|---|---|---|---|',
    ...rows,
    '',
    `Totals: ${results.length} files; accepted ${t.accepted}, refused-justified ${t['refused-justified']}, refused-wrong ${t['refused-wrong']}.`,
  ].join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { cli: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const dir = positionals[0];
  if (dir === undefined) {
    process.stderr.write('usage: compat-corpus <dir> [--cli <cli main.js>] [--json]\n');
    process.exit(2);
  }
  const cli = resolve(values.cli ?? fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url)));
  const results = runCorpus({ dir: resolve(dir), cli });
  process.stdout.write(values.json ? `${JSON.stringify(results, null, 2)}\n` : `${markdown(results)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
