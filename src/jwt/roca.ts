/**
 * Recognises RSA moduli made by Infineon's RSALib key generator (ROCA,
 * CVE-2017-15361), which can be factored in practice: a signature such a key
 * verifies proves nothing.
 *
 * RSALib draws each prime as k·M + (65537^a mod M), M the product of the first
 * primes. For every small prime p dividing M, each RSA prime, and so the
 * modulus, is then a power of 65537 modulo p. The published fingerprint tests
 * exactly that for the odd primes up to 167 (2 tells nothing: every modulus is
 * odd). Every RSALib modulus passes all 38 tests. For 21 of those primes 65537
 * generates every non-zero residue, so only the other 17 tell keys apart: a
 * modulus from any other generator passes them all with probability about
 * 2^-27.8.
 *
 * Speed: an import runs this once per RSA key. The 17 telling primes come
 * first, most selective per bit first, so nearly every ordinary modulus is
 * cleared by the first batch (which only 1 in ~11,000 passes).
 */

const GENERATOR = 65537;
const LARGEST_PRIME = 167;
/** A batch's modulus stays below this so the sums in residueOf remain exact doubles. */
const MAX_BATCH_MODULUS = 2 ** 27;
/** 16-bit words of the longest modulus the weighted sum handles (16,384 bits); longer ones take the slow path. */
const MAX_WEIGHTED_WORDS = 1024;

interface PrimeTest {
  readonly prime: number;
  /** allowed[r] is 1 exactly when r is a power of 65537 modulo `prime`. */
  readonly allowed: Uint8Array;
  /** Share of the non-zero residues that are allowed. */
  readonly passRate: number;
}

interface Batch {
  /** The product of the batch's primes: one pass over the modulus yields the residue for all of them. */
  readonly modulus: number;
  readonly tests: readonly PrimeTest[];
  /** weights[j] = 2^(16·j) mod `modulus`, j counted from the least significant word; only for the telling batches. */
  readonly weights: Float64Array | undefined;
}

function oddPrimesUpTo(limit: number): number[] {
  const primes: number[] = [];
  for (let n = 3; n <= limit; n += 2) {
    if (primes.every((p) => p * p > n || n % p !== 0)) primes.push(n);
  }
  return primes;
}

function primeTest(prime: number): PrimeTest {
  const allowed = new Uint8Array(prime);
  const g = GENERATOR % prime;
  // Walks the cyclic subgroup <g> until it closes at 1.
  let r = 1;
  let size = 0;
  do {
    allowed[r] = 1;
    size += 1;
    r = (r * g) % prime;
  } while (r !== 1);
  return { prime, allowed, passRate: size / (prime - 1) };
}

function batchesOf(tests: readonly PrimeTest[], weighted: boolean): Batch[] {
  const batches: Batch[] = [];
  let current: PrimeTest[] = [];
  let modulus = 1;
  const close = (): void => {
    if (current.length === 0) return;
    batches.push({ modulus, tests: current, weights: weighted ? wordWeights(modulus) : undefined });
    current = [];
    modulus = 1;
  };
  for (const test of tests) {
    if (modulus * test.prime >= MAX_BATCH_MODULUS) close();
    current.push(test);
    modulus *= test.prime;
  }
  close();
  return batches;
}

function wordWeights(modulus: number): Float64Array {
  const weights = new Float64Array(MAX_WEIGHTED_WORDS);
  let w = 1 % modulus;
  for (let j = 0; j < MAX_WEIGHTED_WORDS; j++) {
    weights[j] = w;
    w = (w * 65536) % modulus;
  }
  return weights;
}

function buildBatches(): Batch[] {
  const tests = oddPrimesUpTo(LARGEST_PRIME).map(primeTest);
  const telling = tests
    .filter((test) => test.passRate < 1)
    // Most rejection per bit of batch modulus first.
    .sort((a, b) => Math.log(a.passRate) / Math.log(a.prime) - Math.log(b.passRate) / Math.log(b.prime));
  // The rest only refuse a residue of 0; they are checked for the rare modulus that passed everything else.
  const rest = tests.filter((test) => test.passRate === 1);
  return [...batchesOf(telling, true), ...batchesOf(rest, false)];
}

const BATCHES: readonly Batch[] = buildBatches();

/**
 * The big-endian `bytes` modulo `batch.modulus`. The weighted sum has no
 * division in its loop; every term is below 2^16·2^27 and there are at most
 * 2^10 of them, so the sum is an exact integer below 2^53.
 */
function residueOf(bytes: Uint8Array, batch: Batch): number {
  const m = batch.modulus;
  const weights = batch.weights;
  if (weights !== undefined && bytes.length <= 2 * MAX_WEIGHTED_WORDS) {
    let sum = 0;
    let j = 0;
    let end = bytes.length;
    for (; end >= 2; end -= 2) sum += ((bytes[end - 2]! << 8) | bytes[end - 1]!) * weights[j++]!;
    if (end === 1) sum += bytes[0]! * weights[j]!;
    return sum % m;
  }
  let r = 0;
  for (let i = 0; i < bytes.length; i++) r = (r * 256 + bytes[i]!) % m;
  return r;
}

/** True when the big-endian modulus has the ROCA fingerprint. */
export function hasRocaFingerprint(modulus: Uint8Array): boolean {
  // Indexed loops: leaving a for-of early costs more than the whole weighted sum.
  for (let b = 0; b < BATCHES.length; b++) {
    const batch = BATCHES[b]!;
    const r = residueOf(modulus, batch);
    const tests = batch.tests;
    for (let t = 0; t < tests.length; t++) if (tests[t]!.allowed[r % tests[t]!.prime] === 0) return false;
  }
  return true;
}
