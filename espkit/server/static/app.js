// espkit synthesis page: plain JS, no build step, nothing fetched from outside this server.
"use strict";

const $ = (id) => document.getElementById(id);
const CONTROLS = ["speed", "pitch_scale", "pitch_shift_cents", "energy_scale"];
const NEUTRAL = { speed: 1, pitch_scale: 1, pitch_shift_cents: 0, energy_scale: 1 };
let models = [];
let mixWeights = [];
let audioUrl = null;

function currentModel() {
  return models.find((m) => m.name === $("model").value);
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// --- model, emotion, speaker and controls -------------------------------------------------------------
function fillModel() {
  const model = currentModel();
  const emotion = $("emotion");
  emotion.innerHTML = "";
  for (const name of model.emotions) emotion.add(new Option(name, name));
  if (model.emotions.length > 1) emotion.add(new Option("mix…", "__mix__"));
  emotion.disabled = model.emotions.length === 0;
  if (emotion.disabled) emotion.add(new Option("(not conditioned on emotion)", ""));
  $("emotion-row").hidden = false;
  mixWeights = model.emotions.map((_, i) => (i === 0 ? 1 : 0));
  buildMix(model.emotions);
  $("mix").hidden = true;
  const speaker = $("speaker");
  speaker.innerHTML = "";
  for (const name of model.speakers || []) speaker.add(new Option(name, name));
  $("speaker-row").hidden = !model.controls.speaker;
  for (const control of CONTROLS) $(`${control}-row`).hidden = !model.controls[control];
  $("reference-row").hidden = !model.controls.reference;
  $("model-info").textContent = `${model.architecture}, ${model.sampling_rate} Hz, ${model.vocoder} vocoder`;
}

function buildMix(names) {
  const box = $("mix-sliders");
  box.innerHTML = "";
  names.forEach((name, i) => {
    const row = document.createElement("div");
    row.className = "mix-row";
    const label = document.createElement("label");
    label.htmlFor = `mix-${name}`;
    label.textContent = name;
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", id: `mix-${name}`, min: 0, max: 1, step: 0.01 });
    slider.dataset.index = String(i);
    slider.addEventListener("input", () => setMixWeight(i, Number(slider.value)));
    const out = document.createElement("output");
    out.id = `mix-${name}-value`;
    row.append(label, slider, out);
    box.append(row);
  });
  renderMix();
}

// Set one weight and rescale the others so that all sum to 1.
function setMixWeight(index, value) {
  value = Math.min(1, Math.max(0, value));
  const rest = mixWeights.reduce((sum, w, i) => (i === index ? sum : sum + w), 0);
  const others = mixWeights.length - 1;
  mixWeights = mixWeights.map((w, i) => {
    if (i === index) return value;
    if (others === 0) return 0;
    return rest > 0 ? (w / rest) * (1 - value) : (1 - value) / others;
  });
  renderMix();
}

function renderMix() {
  const model = currentModel();
  if (!model) return;
  model.emotions.forEach((name, i) => {
    $(`mix-${name}`).value = mixWeights[i];
    $(`mix-${name}-value`).textContent = mixWeights[i].toFixed(2);
  });
  $("mix-sum").textContent = mixWeights.reduce((a, b) => a + b, 0).toFixed(2);
}

function emotionValue() {
  const model = currentModel();
  const choice = $("emotion").value;
  if (!model.emotions.length || !choice) return undefined;
  if (choice !== "__mix__") return choice;
  const mix = {};
  model.emotions.forEach((name, i) => {
    if (mixWeights[i] > 0) mix[name] = Number(mixWeights[i].toFixed(4));
  });
  return mix;
}

// --- request -----------------------------------------------------------------------------------
function requestBody() {
  const model = currentModel();
  const fields = { model: model.name, text: $("text").value, format: "ndjson" };
  const seed = $("seed").value;
  if (seed !== "") fields.seed = Number(seed);
  for (const control of CONTROLS) {
    const value = Number($(control).value);
    if (model.controls[control] && value !== NEUTRAL[control]) fields[control] = value;
  }
  if (model.controls.speaker) fields.speaker = $("speaker").value;
  const file = model.controls.reference ? $("reference").files[0] : undefined;
  if (file) {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields)) form.append(key, String(value));
    form.append("reference", file);
    return { body: form, headers: {} };
  }
  const emotion = emotionValue();
  if (emotion !== undefined) fields.emotion = emotion;
  return { body: JSON.stringify(fields), headers: { "Content-Type": "application/json" } };
}

function base64Bytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function wavBlob(chunks, fs) {
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const header = new DataView(new ArrayBuffer(44));
  const tag = (offset, text) => [...text].forEach((ch, i) => header.setUint8(offset + i, ch.charCodeAt(0)));
  tag(0, "RIFF");
  header.setUint32(4, 36 + size, true);
  tag(8, "WAVE");
  tag(12, "fmt ");
  header.setUint32(16, 16, true);
  header.setUint16(20, 1, true);
  header.setUint16(22, 1, true);
  header.setUint32(24, fs, true);
  header.setUint32(28, fs * 2, true);
  header.setUint16(32, 2, true);
  header.setUint16(34, 16, true);
  tag(36, "data");
  header.setUint32(40, size, true);
  return new Blob([header, ...chunks], { type: "audio/wav" });
}

async function synthesize(event) {
  if (event) event.preventDefault();
  showError("");
  const button = $("synthesize");
  const progress = $("progress");
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  $("audio").dataset.ready = "false";
  $("status").textContent = "synthesising…";
  const started = performance.now();
  try {
    const { body, headers } = requestBody();
    const response = await fetch("/api/tts", { method: "POST", body, headers });
    if (!response.ok) {
      const error = await response.json().catch(() => ({ error: response.statusText }));
      throw new Error(`${response.status}: ${error.error}`);
    }
    const sentences = [];
    const chunks = [];
    let fs = 0;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (value) buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (line.done) {
          if (line.error) throw new Error(line.error);
          continue;
        }
        fs = line.sampling_rate;
        chunks.push(base64Bytes(line.pcm));
        sentences.push(line);
        progress.value = (line.index + 1) / line.count;
        $("status").textContent = `sentence ${line.index + 1} of ${line.count}`;
      }
      if (done) break;
    }
    if (!sentences.length) throw new Error("the server sent no audio");
    const blob = wavBlob(chunks, fs);
    if (audioUrl) URL.revokeObjectURL(audioUrl);
    audioUrl = URL.createObjectURL(blob);
    const audio = $("audio");
    audio.src = audioUrl;
    $("download").href = audioUrl;
    $("download").hidden = false;
    drawMel(sentences);
    drawAlignment(sentences);
    const seconds = sentences.reduce((n, s) => n + s.num_samples, 0) / fs;
    const emotion = sentences[0].emotion.label;
    const label = emotion && typeof emotion === "object"
      ? Object.entries(emotion).map(([name, w]) => `${name} ${w.toFixed(2)}`).join(", ")
      : emotion || "none";
    $("status").textContent =
      `${seconds.toFixed(2)} s of audio in ${((performance.now() - started) / 1000).toFixed(2)} s; emotion: ${label}`;
    audio.dataset.ready = "true";
  } catch (error) {
    showError(error.message);
    $("status").textContent = "";
  } finally {
    button.disabled = false;
    progress.hidden = true;
  }
}

// --- pictures ----------------------------------------------------------------------------------
// A blue-to-yellow ramp (value in [0, 1] -> rgb).
function colour(value) {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.min(0.9999, Math.max(0, value)) * (stops.length - 1);
  const i = Math.floor(x);
  const t = x - i;
  return stops[i].map((c, k) => Math.round(c + t * (stops[i + 1][k] - c)));
}

function paint(canvas, width, height, valueAt) {
  canvas.width = Math.max(1, width);
  canvas.height = Math.max(1, height);
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = colour(valueAt(x, height - 1 - y));
      const p = 4 * (y * width + x);
      image.data.set([r, g, b, 255], p);
    }
  }
  ctx.putImageData(image, 0, 0);
}

function drawMel(sentences) {
  const frames = sentences.flatMap((s) => s.features || []);
  if (!frames.length) return;
  let low = Infinity;
  let high = -Infinity;
  for (const frame of frames) for (const v of frame) (low = Math.min(low, v)), (high = Math.max(high, v));
  const span = high - low || 1;
  paint($("mel"), frames.length, frames[0].length, (x, y) => (frames[x][y] - low) / span);
}

// Attention (Tacotron2) or the hard alignment of the durations (duration models), sentence after
// sentence along the diagonal: frames across, tokens up.
function drawAlignment(sentences) {
  const blocks = sentences.map((s) => {
    const frames = (s.features || []).length;
    if (s.attention) return { frames, tokens: s.attention[0].length, at: (x, y) => s.attention[x][y] };
    const durations = s.duration || [];
    const total = durations.reduce((a, b) => a + b, 0) || 1;
    const scale = frames / total;
    const ends = [];
    durations.reduce((sum, d, i) => ((ends[i] = (sum + d) * scale), sum + d), 0);
    return { frames, tokens: durations.length, at: (x, y) => (x < ends[y] && x >= (y ? ends[y - 1] : 0) ? 1 : 0) };
  });
  const width = blocks.reduce((n, b) => n + b.frames, 0);
  const height = blocks.reduce((n, b) => n + b.tokens, 0);
  if (!width || !height) return;
  $("alignment-caption").textContent = sentences[0].attention ? "Attention" : "Durations (hard alignment)";
  paint($("alignment"), width, height, (x, y) => {
    let fx = x;
    let fy = y;
    for (const block of blocks) {
      if (fx < block.frames) return fy >= 0 && fy < block.tokens ? block.at(fx, fy) : 0;
      fx -= block.frames;
      fy -= block.tokens;
    }
    return 0;
  });
}

// --- wiring ------------------------------------------------------------------------------------
async function init() {
  try {
    const response = await fetch("/api/models");
    models = (await response.json()).models;
  } catch (error) {
    showError(`cannot list the models: ${error.message}`);
    return;
  }
  for (const model of models) $("model").add(new Option(model.name, model.name));
  fillModel();
  $("model").addEventListener("change", fillModel);
  $("emotion").addEventListener("change", () => {
    $("mix").hidden = $("emotion").value !== "__mix__";
  });
  for (const control of CONTROLS) {
    const input = $(control);
    input.addEventListener("input", () => {
      $(`${control}-value`).textContent = control === "pitch_shift_cents" ? input.value : Number(input.value).toFixed(2);
    });
  }
  $("reference-clear").addEventListener("click", () => ($("reference").value = ""));
  $("form").addEventListener("submit", synthesize);
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) synthesize(event);
  });
  document.body.dataset.ready = "true";
}

init();
