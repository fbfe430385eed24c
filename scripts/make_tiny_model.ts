/**
 * Writes a small embedding model in the layout of `Xenova/all-MiniLM-L6-v2`
 * (`config.json`, `tokenizer.json`, `tokenizer_config.json`,
 * `onnx/model.onnx`), deterministically and without Python: no machine here
 * can download weights and no package ships a model, so the project makes
 * its own and runs the real transformers.js loading code on it.
 *
 *     deno run --allow-write=<dir> scripts/make_tiny_model.ts <dir> [--shape tiny|minilm]
 *
 * - `tiny` (default, ~0.3 MB): a BERT-shaped graph that looks each token up
 *   in a 64-wide embedding table and masks it by `attention_mask`. Every
 *   content word of its ~1,200-token vocabulary gets its own pseudo-random
 *   vector (stop words, punctuation and letters get zeros), so after mean
 *   pooling, texts that share words are closer than texts that do not.
 * - `minilm` (~90 MB): the real shape of all-MiniLM-L6-v2 (30,522-token
 *   vocabulary, 384 wide, 6 layers of 12-head self-attention, 1,536-wide
 *   GELU feed-forward, layer norms) with random weights: for timing only.
 *
 * The ONNX protobuf is encoded here by hand (a few message types of
 * `onnx.proto`), and every number comes from a seeded integer generator
 * using only arithmetic, so the bytes are the same on every run and machine.
 *
 * @module
 */

/** Which model to write. */
export type ModelShape = "tiny" | "minilm";

/** What {@linkcode makeTinyModel} wrote. */
export interface MadeModel {
  readonly dir: string;
  readonly shape: ModelShape;
  readonly hiddenSize: number;
  readonly vocabSize: number;
  readonly onnxBytes: number;
}

// ---------------------------------------------------------------------------
// Protobuf encoding (just what ONNX needs)

class Pb {
  #parts: Uint8Array[] = [];
  #length = 0;

  #push(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }

  #varint(value: number | bigint): void {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n; // int64 two's complement
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.#push(Uint8Array.from(out));
  }

  #tag(field: number, wire: number): void {
    this.#varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.#tag(field, 0);
    this.#varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.#tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(value.length);
    this.#push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: Pb): this {
    return this.bytes(field, value.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

// onnx.proto enum values
const FLOAT = 1;
const INT64 = 7;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

type Attr = number | readonly number[] | { readonly float: number };
type Dim = number | string;

/** A graph under construction: nodes, initializers, inputs and outputs. */
class Graph {
  readonly nodes: Pb[] = [];
  readonly initializers: Pb[] = [];
  readonly inputs: Pb[] = [];
  readonly outputs: Pb[] = [];
  #n = 0;

  /** Adds a node; returns its (single) output's name. */
  op(type: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    const output = `${type.toLowerCase()}_${this.#n++}`;
    const node = new Pb();
    for (const input of inputs) node.string(1, input);
    node.string(2, output).string(3, output).string(4, type);
    for (const [name, value] of Object.entries(attrs)) {
      const attr = new Pb().string(1, name);
      if (typeof value === "number") attr.int(3, value).int(20, ATTR_INT);
      else if ("float" in value) attr.float(2, value.float).int(20, ATTR_FLOAT);
      else {
        for (const v of value) attr.int(8, v);
        attr.int(20, ATTR_INTS);
      }
      node.message(5, attr);
    }
    this.nodes.push(node);
    return output;
  }

  /** A float tensor initializer. */
  floats(name: string, dims: readonly number[], data: Float32Array): string {
    const t = new Pb();
    for (const d of dims) t.int(1, d);
    t.int(2, FLOAT).string(8, name);
    t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.initializers.push(t);
    return name;
  }

  /** An int64 tensor initializer (shapes, axes). */
  ints(name: string, dims: readonly number[], data: readonly number[]): string {
    const t = new Pb();
    for (const d of dims) t.int(1, d);
    t.int(2, INT64).string(8, name);
    const raw = new BigInt64Array(data.map((v) => BigInt(v)));
    t.bytes(9, new Uint8Array(raw.buffer));
    this.initializers.push(t);
    return name;
  }

  #valueInfo(name: string, elemType: number, dims: readonly Dim[]): Pb {
    const shape = new Pb();
    for (const d of dims) {
      shape.message(1, typeof d === "number" ? new Pb().int(1, d) : new Pb().string(2, d));
    }
    const tensor = new Pb().int(1, elemType).message(2, shape);
    return new Pb().string(1, name).message(2, new Pb().message(1, tensor));
  }

  input(name: string, elemType: number, dims: readonly Dim[]): string {
    this.inputs.push(this.#valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: readonly Dim[]): void {
    this.outputs.push(this.#valueInfo(name, elemType, dims));
  }

  /** The serialized `ModelProto`. */
  model(name: string): Uint8Array {
    const graph = new Pb();
    for (const n of this.nodes) graph.message(1, n);
    graph.string(2, name);
    for (const t of this.initializers) graph.message(5, t);
    for (const i of this.inputs) graph.message(11, i);
    for (const o of this.outputs) graph.message(12, o);
    return new Pb()
      .int(1, 8) // IR version 8
      .string(2, "mcp-tool-server/make_tiny_model")
      .string(3, "1")
      .message(7, graph)
      .message(8, new Pb().string(1, "").int(2, 17)) // opset 17
      .finish();
  }
}

// ---------------------------------------------------------------------------
// Deterministic numbers: integer arithmetic only

/** FNV-1a, 32 bits. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: a seeded generator of uniform numbers in [0, 1). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Roughly normal values (the sum of four uniforms, centred), scaled. */
function fill(out: Float32Array, offset: number, length: number, seed: number, scale: number) {
  const next = generator(seed);
  for (let i = 0; i < length; i++) {
    out[offset + i] = (next() + next() + next() + next() - 2) * scale;
  }
}

function randomTensor(length: number, seed: string, scale: number): Float32Array {
  const out = new Float32Array(length);
  fill(out, 0, length, fnv1a(seed), scale);
  return out;
}

// ---------------------------------------------------------------------------
// Vocabulary and tokenizer

/** Common English words plus the vocabulary of this project's docs and fixtures. */
const WORDS = `
the of and to a in is it you that he was for on are with as i his they be at one have this from
or had by hot word but what some we can out other were all there when up use your how said an each
she which do their time if will way about many then them write would like so these her long make
thing see him two has look more day could go come did number sound no most people my over know
water than call first who may down side been now find any new work part take get place made live
where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
head stand own page should country found answer school grow study still learn plant cover food sun
four between state keep eye never last let thought city tree cross farm hard start might story saw
far sea draw left late run while press close night real life few north open seem together next
white children begin got walk example ease paper group always music those both mark often letter
until mile river car feet care second book carry took science eat room friend began idea fish
mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual
young ready above ever red list though feel talk bird soon body dog family direct pose leave song
measure door product black short numeral class wind question happen complete ship area half rock
order fire south problem piece told knew pass since top whole king space heard best hour better
true during hundred five remember step early hold west ground interest reach fast verb sing listen
six table travel less morning ten simple several vowel toward war lay against pattern slow center
love person money serve appear road map rain rule govern pull cold notice voice unit power town
fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct
able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing
course stay wheel full force blue object decide surface deep moon island foot system busy test
record boat common gold possible plane stead dry wonder laugh thousand ago ran check game shape
equate miss brought heat snow tire bring yes distant fill east paint language among grand ball yet
wave drop heart am present heavy dance engine position arm wide sail material size vary settle
speak weight general ice matter circle pair include divide syllable felt perhaps pick sudden count
square reason length represent art subject region energy hunt probable bed brother egg ride cell
believe fraction forest sit race window store summer train sleep prove lone exercise wall catch
mount wish sky board joy winter sat written wild instrument kept glass grass cow job edge sign
visit past soft fun bright gas weather month million bear finish happy hope flower clothe strange
gone jump baby eight village meet root buy raise solve metal whether push seven paragraph third
shall held hair describe cook floor either result burn hill safe cat century consider type law bit
coast copy phrase silent tall sand soil roll temperature finger industry value fight lie beat
excite natural view sense ear else quite broke case middle kill son lake moment scale loud spring
observe child straight consonant nation dictionary milk speed method organ pay age section dress
cloud surprise quiet stone tiny climb cool design poor lot experiment bottom key iron single stick
flat twenty skin smile crease hole trade melody trip office receive row mouth exact symbol die
least trouble shout except wrote seed tone join suggest clean break lady yard rise bad blow oil
blood touch grew cent mix team wire cost lost brown wear garden equal sent choose fell fit flow
fair bank collect save control decimal gentle woman captain practice separate difficult doctor
please protect noon whose locate ring character insect caught period indicate radio spoke atom
human history effect electric expect crop modern element hit student corner party supply bone
rail imagine provide agree thus capital chair danger fruit rich thick soldier process operate
guess necessary sharp wing create neighbor wash bat rather crowd corn compare poem string bell
depend meat rub tube famous dollar stream fear sight thin triangle planet hurry chief colony clock
mine tie enter major fresh search send yellow gun allow print dead spot desert suit current lift
rose arrive master track parent shore division sheet substance favor connect post spend chord fat
glad original share station dad bread charge proper bar offer segment slave duck instant market
degree populate chick dear enemy reply drink occur support speech nature range steam motion path
liquid log meant quotient teeth shell neck oxygen sugar death pretty skill women season solution
magnet silver thank branch match suffix especially fig afraid huge sister steel discuss forward
similar guide experience score apple bought led pitch coat mass card band rope slip win dream
evening condition feed tool total basic smell valley nor double seat continue block chart hat sell
success company subtract event particular deal swim term opposite wife shoe shoulder spread
arrange camp invent cotton born determine quart nine truck noise level chance gather shop stretch
throw shine property column molecule select wrong gray repeat require broad prepare salt nose
plural anger claim continent
database postgres postgresql sql query table row column index vector embedding embeddings model
server client tool tools request response error key token cache redis memory disk file files
folder document documents chunk chunks ingest search similarity cosine score deno typescript
javascript node network http api rest json yaml config configuration environment variable
permission permissions sandbox deploy container docker metrics log logs trace latency throughput
customer customers orders order price invoice payment shipping delivery refund account user users
password secret security auth limit rate cat cats kitten dog dogs puppy bark meow purr feline
canine pet pets weather sunny rainy storm snow forecast temperature pizza pasta cheese tomato
recipe bake oven cook cooking coffee tea cup milk sugar bread butter rocket space orbit mars
moon planet telescope galaxy star stars astronaut launch football soccer goal match team player
score league guitar piano violin song songs concert melody rhythm
`;

/** The special tokens at the ids BERT's vocabulary gives them. */
const SPECIALS = { "[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103 };

/** Builds the vocabulary: token → id, ids dense from 0. */
function vocabulary(shape: ModelShape): Map<string, number> {
  const tokens: string[] = [];
  const seen = new Set<string>(Object.keys(SPECIALS));
  const add = (t: string) => {
    if (!seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  };
  const letters = "abcdefghijklmnopqrstuvwxyz0123456789".split("");
  const punctuation = ".,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`".split("");
  for (const w of WORDS.split(/\s+/).filter(Boolean)) add(w);
  for (const c of [...letters, ...punctuation]) add(c);
  for (const c of letters) add(`##${c}`);
  if (shape === "minilm") {
    // Two- and three-letter pieces, so words split into few tokens, as in a real vocabulary.
    const az = "abcdefghijklmnopqrstuvwxyz".split("");
    for (const a of az) for (const b of az) add(`${a}${b}`), add(`##${a}${b}`);
    for (const a of az) for (const b of az) for (const c of az) add(`##${a}${b}${c}`);
  }
  const size = shape === "minilm" ? 30522 : Math.max(tokens.length + 5, 104);
  const vocab = new Map<string, number>(Object.entries(SPECIALS));
  const taken = new Set<number>(Object.values(SPECIALS));
  let next = 0;
  for (const token of tokens) {
    while (taken.has(next)) next++;
    if (next >= size) break;
    vocab.set(token, next);
    taken.add(next++);
  }
  // Fill the gaps (and a real-sized vocabulary) with unused tokens.
  for (let id = 0, u = 0; id < size; id++) {
    if (!taken.has(id)) vocab.set(`[unused${u++}]`, id);
  }
  return vocab;
}

function tokenizerJson(vocab: Map<string, number>, maxLength: number): unknown {
  const special = (content: string) => ({
    id: vocab.get(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const ordered = Object.fromEntries([...vocab].sort((a, b) => a[1] - b[1]));
  return {
    version: "1.0",
    truncation: { direction: "Right", max_length: maxLength, strategy: "LongestFirst", stride: 0 },
    padding: null,
    added_tokens: Object.keys(SPECIALS).sort((a, b) => vocab.get(a)! - vocab.get(b)!).map(
      special,
    ),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [vocab.get("[CLS]")], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [vocab.get("[SEP]")], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: ordered,
    },
  };
}

function tokenizerConfig(maxLength: number): unknown {
  return {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    do_basic_tokenize: true,
    never_split: null,
    tokenize_chinese_chars: true,
    strip_accents: null,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: true,
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    mask_token: "[MASK]",
  };
}

// ---------------------------------------------------------------------------
// The graphs

interface Dims {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly maxPositions: number;
}

const SHAPES: Record<ModelShape, Dims> = {
  tiny: { hidden: 64, layers: 0, heads: 1, intermediate: 64, maxPositions: 512 },
  minilm: { hidden: 384, layers: 6, heads: 12, intermediate: 1536, maxPositions: 512 },
};

/**
 * Words that carry no topic. The tiny model gives them (and punctuation and
 * the single-letter pieces unknown words fall apart into) a zero vector, as
 * IDF weighting would, so a text's mean is made of its content words.
 */
const STOPWORDS = new Set(
  `a an the and or but if of to in on at by for with from as is are was were be been being it its
  this that these those he she they we you i me my our your his her their them us him not no do does
  did has have had will would can could may might shall should so than then there here what which who
  when where why how all any each some such into over under about up down out very just also`
    .split(/\s+/),
);

/** The tiny model: a masked embedding lookup (one vector per content word, zero for the rest). */
function tinyGraph(vocab: Map<string, number>, d: Dims): Uint8Array {
  const g = new Graph();
  const ids = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const mask = g.input("attention_mask", INT64, ["batch_size", "sequence_length"]);
  const types = g.input("token_type_ids", INT64, ["batch_size", "sequence_length"]);
  const table = new Float32Array(vocab.size * d.hidden);
  for (const [token, id] of vocab) {
    // Special, unused and stop tokens, punctuation and single-character
    // pieces stay zero: they add nothing to a text's mean.
    const bare = token.replace(/^##/, "");
    if (token.startsWith("[") || bare.length === 1 || STOPWORDS.has(token)) continue;
    fill(table, id * d.hidden, d.hidden, fnv1a(token), 1);
  }
  // [CLS], in every text, gets a faint vector of its own, so that a text of
  // stop words alone still has a direction (a zero mean cannot be normalized).
  fill(table, vocab.get("[CLS]")! * d.hidden, d.hidden, fnv1a("[CLS]"), 0.05);
  const words = g.op("Gather", [g.floats("word_embeddings", [vocab.size, d.hidden], table), ids]);
  const typeTable = g.floats(
    "token_type_embeddings",
    [2, d.hidden],
    new Float32Array(2 * d.hidden),
  );
  const summed = g.op("Add", [words, g.op("Gather", [typeTable, types])]);
  const maskF = g.op("Cast", [mask], { to: FLOAT });
  const mask3 = g.op("Unsqueeze", [maskF, g.ints("last_axis", [1], [-1])]);
  const out = g.op("Mul", [summed, mask3]);
  g.nodes.push(new Pb().string(1, out).string(2, "last_hidden_state").string(4, "Identity"));
  g.output("last_hidden_state", FLOAT, ["batch_size", "sequence_length", d.hidden]);
  return g.model("tiny_bert");
}

/** A BERT encoder of the given size with random weights (for timing). */
function bertGraph(vocab: Map<string, number>, d: Dims): Uint8Array {
  const g = new Graph();
  const H = d.hidden;
  const headSize = H / d.heads;
  const ids = g.input("input_ids", INT64, ["batch_size", "sequence_length"]);
  const mask = g.input("attention_mask", INT64, ["batch_size", "sequence_length"]);
  const types = g.input("token_type_ids", INT64, ["batch_size", "sequence_length"]);
  const w = (name: string, dims: number[], scale = 0.02) =>
    g.floats(name, dims, randomTensor(dims.reduce((a, b) => a * b, 1), name, scale));
  const ones = (name: string, n: number) => g.floats(name, [n], new Float32Array(n).fill(1));
  const zeros = (name: string, n: number) => g.floats(name, [n], new Float32Array(n));
  const layerNorm = (x: string, name: string) =>
    g.op("LayerNormalization", [x, ones(`${name}.gamma`, H), zeros(`${name}.beta`, H)], {
      axis: -1,
      epsilon: { float: 1e-12 },
    });
  const linear = (x: string, name: string, inDim: number, outDim: number) =>
    g.op("Add", [
      g.op("MatMul", [x, w(`${name}.weight`, [inDim, outDim])]),
      zeros(`${name}.bias`, outDim),
    ]);

  // Embeddings: word + position + token type, then a layer norm.
  const seqLen = g.op("Gather", [g.op("Shape", [ids]), g.ints("one", [], [1])], { axis: 0 });
  const positions = g.op("Range", [g.ints("zero", [], [0]), seqLen, g.ints("step", [], [1])]);
  let x = g.op("Add", [
    g.op("Add", [
      g.op("Gather", [w("word_embeddings", [vocab.size, H]), ids]),
      g.op("Gather", [w("position_embeddings", [d.maxPositions, H]), positions]),
    ]),
    g.op("Gather", [w("token_type_embeddings", [2, H]), types]),
  ]);
  x = layerNorm(x, "embeddings.norm");

  // (1 - mask) * -10000, as [batch, 1, 1, sequence].
  const maskF = g.op("Cast", [mask], { to: FLOAT });
  const inverted = g.op("Sub", [g.floats("one_f", [], Float32Array.of(1)), maskF]);
  const bias = g.op("Unsqueeze", [
    g.op("Mul", [inverted, g.floats("neg_big", [], Float32Array.of(-10000))]),
    g.ints("mask_axes", [2], [1, 2]),
  ]);
  const splitShape = g.ints("split_heads", [4], [0, 0, d.heads, headSize]);
  const mergeShape = g.ints("merge_heads", [3], [0, 0, H]);
  const scale = g.floats("attention_scale", [], Float32Array.of(1 / Math.sqrt(headSize)));
  const half = g.floats("half", [], Float32Array.of(0.5));
  const sqrt2 = g.floats("sqrt2", [], Float32Array.of(Math.SQRT2));
  const oneF = "one_f";

  for (let l = 0; l < d.layers; l++) {
    const p = `layer.${l}`;
    const heads = (t: string, perm: number[]) =>
      g.op("Transpose", [g.op("Reshape", [t, splitShape])], { perm });
    const q = heads(linear(x, `${p}.query`, H, H), [0, 2, 1, 3]);
    const k = heads(linear(x, `${p}.key`, H, H), [0, 2, 3, 1]);
    const v = heads(linear(x, `${p}.value`, H, H), [0, 2, 1, 3]);
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), bias]);
    const probs = g.op("Softmax", [scores], { axis: -1 });
    const context = g.op("Reshape", [
      g.op("Transpose", [g.op("MatMul", [probs, v])], { perm: [0, 2, 1, 3] }),
      mergeShape,
    ]);
    x = layerNorm(g.op("Add", [x, linear(context, `${p}.attention.output`, H, H)]), `${p}.norm1`);
    const up = linear(x, `${p}.intermediate`, H, d.intermediate);
    // GELU: 0.5 · x · (1 + erf(x / √2))
    const gelu = g.op("Mul", [
      g.op("Mul", [up, half]),
      g.op("Add", [g.op("Erf", [g.op("Div", [up, sqrt2])]), oneF]),
    ]);
    x = layerNorm(g.op("Add", [x, linear(gelu, `${p}.output`, d.intermediate, H)]), `${p}.norm2`);
  }
  g.nodes.push(new Pb().string(1, x).string(2, "last_hidden_state").string(4, "Identity"));
  g.output("last_hidden_state", FLOAT, ["batch_size", "sequence_length", H]);
  return g.model("bert_encoder");
}

/**
 * Writes the model files into `dir` (created if missing) and returns what it
 * wrote. The same shape always produces the same bytes.
 */
export async function makeTinyModel(dir: string, shape: ModelShape = "tiny"): Promise<MadeModel> {
  const d = SHAPES[shape];
  const vocab = vocabulary(shape);
  const onnx = shape === "tiny" ? tinyGraph(vocab, d) : bertGraph(vocab, d);
  const config = {
    _name_or_path: shape === "tiny" ? "mcp-tool-server/tiny-bert" : "mcp-tool-server/minilm-shaped",
    model_type: "bert",
    architectures: ["BertModel"],
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    intermediate_size: d.intermediate,
    hidden_act: "gelu",
    max_position_embeddings: d.maxPositions,
    type_vocab_size: 2,
    vocab_size: vocab.size,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  };
  await Deno.mkdir(`${dir}/onnx`, { recursive: true });
  const json = (value: unknown) => JSON.stringify(value, null, 2) + "\n";
  await Deno.writeTextFile(`${dir}/config.json`, json(config));
  await Deno.writeTextFile(`${dir}/tokenizer.json`, json(tokenizerJson(vocab, d.maxPositions)));
  await Deno.writeTextFile(`${dir}/tokenizer_config.json`, json(tokenizerConfig(d.maxPositions)));
  await Deno.writeFile(`${dir}/onnx/model.onnx`, onnx);
  return { dir, shape, hiddenSize: d.hidden, vocabSize: vocab.size, onnxBytes: onnx.length };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const shapeAt = args.indexOf("--shape");
  let shape: ModelShape = "tiny";
  if (shapeAt !== -1) {
    const value = args.splice(shapeAt, 2)[1];
    if (value !== "tiny" && value !== "minilm") {
      console.error(`--shape: expected tiny or minilm, got "${value}"`);
      Deno.exit(2);
    }
    shape = value;
  }
  if (args.length !== 1) {
    console.error("Usage: make_tiny_model.ts <dir> [--shape tiny|minilm]");
    Deno.exit(2);
  }
  const made = await makeTinyModel(args[0], shape);
  console.log(
    `Wrote ${made.shape} model to ${made.dir}: ${made.hiddenSize} dimensions, ` +
      `${made.vocabSize} tokens, onnx/model.onnx ${made.onnxBytes} bytes`,
  );
}
