// Generates tokenizer-fuzz-expected.json: 400 random strings (fixed seed) drawn from Latin,
// accented, Greek, Cyrillic, CJK, Hangul, Arabic, Devanagari, Thai, emoji, punctuation,
// whitespace and control characters, with the reference ids from Hugging Face's tokenizers.js.
// Run by hand like generate-expected-ids.mjs (same npm package and tokenizer.json):
//
//   node generate-fuzz-ids.mjs all-minilm-l6-v2-q-tokenizer.json > tokenizer-fuzz-expected.json
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
const json = JSON.parse(readFileSync(process.argv[2], "utf8"));
json.truncation = null;
json.padding = null;
const t = new Tokenizer(json, {});
let seed = 12345; const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pools = [
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  " \t\n\r\u00a0\u2003\u3000\u200b\u200d\u00ad\u0000\u0007\u001b\u0085\u2028\u000b\u000c\ufffd\ue000",
  "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»—–…‘’“”•§¶©®™°±×÷€£¥¢",
  "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŒœŠšŽžŸİıŁłß",
  "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΣΩάέήίόύώЖжЁёЩщЫы",
  "中文字符測試日本語ひらがなカタカナ한국어漢字丁七万丈",
  "😀👍🏽👨‍👩‍👧🇫🇷𝐌𝔣①ｆｕﬁ²½Ⅷⓐ",
  "ابتثجحخدذرسشصضطظعغفقكلمنهوي्हिन्दीไทย",
];
const cases = [];
for (let i = 0; i < 400; i++) {
  let s = ""; const len = Math.floor(rnd() * 40);
  for (let k = 0; k < len; k++) {
    const p = pools[Math.floor(rnd() * pools.length)]; const cps = Array.from(p);
    s += cps[Math.floor(rnd() * cps.length)];
    if (rnd() < 0.15) s += " ";
  }
  cases.push({ text: s, ids: t.encode(s).ids.map(Number) });
}
process.stdout.write(JSON.stringify(cases) + "\n");
