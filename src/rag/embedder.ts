/**
 * Text embeddings with transformers.js: the `feature-extraction` pipeline on
 * the native onnxruntime, mean-pooled over the attention mask and
 * L2-normalized, so the cosine similarity of two texts is the dot product of
 * their vectors.
 *
 * The model comes from a local folder in the layout of
 * `Xenova/all-MiniLM-L6-v2` (`config.json`, `tokenizer.json`,
 * `tokenizer_config.json`, `onnx/model.onnx`); its embedding dimension is
 * read from the model itself. Nothing is ever fetched unless downloads are
 * turned on (`RAG_ALLOW_DOWNLOAD=true`): with them off, transformers.js is
 * told remote models are not allowed and its `fetch` is replaced by one that
 * refuses, so a missing file is an error, never a network call.
 *
 * transformers.js is imported here, when an embedder is opened, not when
 * this module loads: its module graph loads sharp and onnxruntime's native
 * addons, which need the RAG permissions (see `permissions.ts`).
 *
 * @module
 */

/** Turns texts into unit-length vectors. */
export interface Embedder {
  /** Which model, as stored beside the documents (a different model is noticed). */
  readonly model: string;
  /** Length of every vector. */
  readonly dimension: number;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** The files a model folder must hold. */
export const MODEL_FILES: readonly string[] = [
  "config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "onnx/model.onnx",
];

/** The model cannot be used; the message says what to do. */
export class EmbedderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EmbedderError";
  }
}

/** How to find the model. */
export interface LocalEmbedderOptions {
  /** `RAG_MODEL_DIR`. */
  readonly modelDir: string;
  /** `RAG_ALLOW_DOWNLOAD`: fetch `model` into `modelDir/<model>/` when it is not there. */
  readonly allowDownload?: boolean;
  /** `RAG_MODEL`: the hub id fetched when downloads are allowed. */
  readonly model?: string;
  /** Where downloads come from (tests point it at a loopback server); default the Hugging Face hub. */
  readonly remoteHost?: string;
}

/** Checks that `dir` holds every file of {@linkcode MODEL_FILES}; throws naming the first missing one. */
export async function checkModelDir(dir: string, variable = "RAG_MODEL_DIR"): Promise<void> {
  for (const file of MODEL_FILES) {
    try {
      const info = await Deno.stat(`${dir}/${file}`);
      if (!info.isFile) throw new Deno.errors.NotFound(file);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new EmbedderError(
        `${variable} "${dir}" has no ${file}: expected a model folder in the layout of ` +
          `Xenova/all-MiniLM-L6-v2 (${MODEL_FILES.join(", ")}). Put one there, make a small ` +
          `test model with \`deno task make-tiny-model\`, or set RAG_ALLOW_DOWNLOAD=true to ` +
          `fetch RAG_MODEL from the Hugging Face hub`,
      );
    }
  }
}

/** The model name recorded with the documents: `config.json`'s `_name_or_path`, else the folder. */
async function modelName(dir: string): Promise<string> {
  try {
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    if (typeof config._name_or_path === "string" && config._name_or_path !== "") {
      return config._name_or_path;
    }
  } catch { /* fall back to the folder name */ }
  return dir.replace(/\/+$/, "").split("/").pop() || dir;
}

/**
 * The part of transformers.js's feature-extraction pipeline used here, written
 * out so the serving configuration (deno.json), which leaves transformers.js
 * out, still type-checks this file.
 */
interface FeatureExtractor {
  (
    texts: string[],
    options: { pooling: "mean"; normalize: boolean },
  ): Promise<{ dims: unknown; data: unknown; dispose?: () => void }>;
  dispose(): Promise<unknown>;
}

/**
 * Opens the model with transformers.js and probes its dimension. Throws an
 * {@linkcode EmbedderError} with a message fit for the operator when the
 * folder is incomplete or the model does not load.
 */
export async function openLocalEmbedder(options: LocalEmbedderOptions): Promise<Embedder> {
  const { modelDir, allowDownload = false } = options;
  const hubModel = options.model ?? "Xenova/all-MiniLM-L6-v2";
  if (!allowDownload) await checkModelDir(modelDir);
  const transformers = await import("@huggingface/transformers");
  const { env } = transformers;
  let id: string;
  if (allowDownload) {
    // transformers.js looks in localModelPath/<id>/ first, then in its file
    // cache at cacheDir/<id>/, and only then downloads into that cache: both
    // are the one folder RAG_MODEL_DIR/<id>/, outside node_modules.
    env.allowRemoteModels = true;
    env.allowLocalModels = true;
    env.localModelPath = `${modelDir.replace(/\/+$/, "")}/`;
    env.cacheDir = modelDir;
    env.useFSCache = true;
    // Deno has the Web Cache API, which transformers.js would prefer: the
    // files belong in RAG_MODEL_DIR, where the operator can see them.
    env.useBrowserCache = false;
    if (options.remoteHost) env.remoteHost = options.remoteHost;
    env.fetch = (input: string | URL, init?: RequestInit) => fetch(input, init);
    id = hubModel;
  } else {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.useFSCache = false;
    env.useBrowserCache = false;
    env.fetch = (input: string | URL) =>
      Promise.reject(
        new EmbedderError(`Refusing to fetch ${String(input)}: remote models are off`),
      );
    // A path that is not a valid hub id ("./x/y" or "/x/y") is read as it is.
    id = modelDir.startsWith("/") ? modelDir : `./${modelDir.replace(/^\.\//, "")}`;
  }
  let extractor: FeatureExtractor;
  try {
    extractor = await transformers.pipeline("feature-extraction", id, {
      dtype: "fp32",
      device: "cpu",
      local_files_only: !allowDownload,
    });
  } catch (error) {
    throw new EmbedderError(
      `Cannot load the embedding model from ${
        allowDownload ? `"${hubModel}" (RAG_MODEL, downloads on)` : `RAG_MODEL_DIR "${modelDir}"`
      }: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }

  async function embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const output = await extractor([...texts], { pooling: "mean", normalize: true });
    const [rows, width] = output.dims as number[];
    const data = output.data as Float32Array;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < rows; i++) vectors.push(data.slice(i * width, (i + 1) * width));
    output.dispose?.();
    // A zero mean (a text the model sees nothing in) normalizes to NaN, which
    // pgvector refuses; better to stop here, naming the text.
    const bad = vectors.findIndex((v) => !v.every(Number.isFinite));
    if (bad !== -1) {
      throw new EmbedderError(
        `The model made no usable embedding (NaN) for the text "${texts[bad].slice(0, 80)}"`,
      );
    }
    return vectors;
  }

  const [probe] = await embed(["dimension probe"]);
  return {
    model: allowDownload ? hubModel : await modelName(modelDir),
    dimension: probe.length,
    embed,
    async close() {
      await extractor.dispose();
    },
  };
}
