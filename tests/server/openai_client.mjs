// The official OpenAI Node SDK (npm `openai`), unchanged, against `airlock serve`. Prints one
// JSON object with what the SDK returned; the C++ test compares it with the engine's vectors.
//   node openai_client.mjs <base_url> <api_key> <model> <text>
import OpenAI from 'openai';

const [baseURL, apiKey, model, text] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const out = {};
// encoding_format "float": the vectors as JSON numbers.
const floats = await client.embeddings.create({ model, input: [text, 'second input'], encoding_format: 'float' });
out.float = floats.data.map((d) => d.embedding);
out.float_index = floats.data.map((d) => d.index);
out.usage = floats.usage;
out.model = floats.model;
// No encoding_format: this SDK asks for base64 and decodes it into floats itself.
const implicit = await client.embeddings.create({ model, input: text });
out.default = implicit.data[0].embedding;
// encoding_format "base64" by the caller: the string, decoded here as OpenAI documents it.
const b64 = await client.embeddings.create({ model, input: text, encoding_format: 'base64' });
const bytes = Buffer.from(b64.data[0].embedding, 'base64');
out.base64 = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
// NIM's suffix for strict OpenAI clients that cannot send input_type.
const query = await client.embeddings.create({ model: model + '-query', input: text, encoding_format: 'float' });
out.query = query.data[0].embedding;
// Errors come back as the SDK's typed errors.
try {
  await client.embeddings.create({ model: 'no-such-model', input: text });
  out.not_found = 'no error';
} catch (e) {
  out.not_found = { status: e.status, name: e.constructor.name, code: e.code ?? null };
}
try {
  await new OpenAI({ baseURL, apiKey: 'wrong-key', maxRetries: 0 }).embeddings.create({ model, input: text });
  out.unauthorized = 'no error';
} catch (e) {
  out.unauthorized = { status: e.status, name: e.constructor.name };
}
const models = await client.models.list();
out.models = models.data.map((m) => m.id);
console.log(JSON.stringify(out));
