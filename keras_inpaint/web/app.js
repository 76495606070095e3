// keras-inpaint serve: paint a mask over a photo, send both to /api/inpaint, show the result.
// Plain JavaScript, no libraries, nothing fetched from elsewhere.
//
// State: the current image (the bytes that will be uploaded: the opened file, later the
// server's PNG) and the brush strokes painted on it. Every change (a stroke, a clear, an
// inpainting) pushes a new state, so undo/redo walk through strokes and results alike.
"use strict";

const $ = (id) => document.getElementById(id);
const photoCanvas = $("photo");
const maskCanvas = $("mask");
const photoContext = photoCanvas.getContext("2d");
const maskContext = maskCanvas.getContext("2d", { willReadFrequently: true });
const HOLE_COLOUR = "#ff2d55";

let history = [];      // states: { image: {blob, bitmap, result}, strokes: [], before: image|null }
let position = -1;     // index of the current state in history
let tool = "paint";
let drawing = null;    // the stroke being painted: { erase, width, points: [[x, y], ...] }
let busy = false;
let limits = { max_upload_bytes: Infinity, max_pixels: Infinity };
let downloadUrl = null;
let downloadImage = null;  // the image downloadUrl points at

const current = () => history[position];

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function push(state) {
  history = history.slice(0, position + 1);
  history.push(state);
  position = history.length - 1;
  render();
}

// ---- drawing -------------------------------------------------------------------------------

function drawStroke(context, stroke) {
  context.save();
  context.globalCompositeOperation = stroke.erase ? "destination-out" : "source-over";
  context.fillStyle = context.strokeStyle = HOLE_COLOUR;
  context.lineWidth = stroke.width;
  context.lineCap = context.lineJoin = "round";
  const [x0, y0] = stroke.points[0];
  context.beginPath();
  context.arc(x0, y0, stroke.width / 2, 0, 2 * Math.PI);
  context.fill();
  if (stroke.points.length > 1) {
    context.beginPath();
    context.moveTo(x0, y0);
    for (const [x, y] of stroke.points.slice(1)) context.lineTo(x, y);
    context.stroke();
  }
  context.restore();
}

function drawSegment(stroke, from, to) {
  drawStroke(maskContext, { erase: stroke.erase, width: stroke.width, points: [from, to] });
}

function render() {
  const state = current();
  const enabled = (id, on) => { $(id).disabled = !on; };
  enabled("undo", !busy && position > 0);
  enabled("redo", !busy && position < history.length - 1);
  enabled("clear", !busy && !!state && state.strokes.length > 0);
  enabled("inpaint", !busy && !!state && state.strokes.some((s) => !s.erase));
  $("preset").disabled = busy;
  const download = $("download");
  const result = state && state.image.result ? state.image : null;
  if (result !== downloadImage) {  // the link always downloads the server's PNG shown now
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = result ? URL.createObjectURL(result.blob) : null;
    downloadImage = result;
    if (downloadUrl) download.href = downloadUrl; else download.removeAttribute("href");
  }
  download.setAttribute("aria-disabled", String(!downloadUrl || busy));
  if (!state) return;
  const { width, height } = state.image.bitmap;
  if (photoCanvas.width !== width || photoCanvas.height !== height) {
    photoCanvas.width = maskCanvas.width = width;
    photoCanvas.height = maskCanvas.height = height;
    fitToStage();
  }
  drawPhoto();
  maskContext.clearRect(0, 0, width, height);
  for (const stroke of state.strokes) drawStroke(maskContext, stroke);
  $("compare-label").hidden = !state.before;
}

function drawPhoto() {
  const state = current();
  const { width, height } = state.image.bitmap;
  photoContext.drawImage(state.image.bitmap, 0, 0);
  const split = state.before ? Number($("compare").value) / 100 : 0;
  if (split <= 0) return;
  // The left part of the picture shows the photo before the last inpainting.
  photoContext.save();
  photoContext.beginPath();
  photoContext.rect(0, 0, width * split, height);
  photoContext.clip();
  photoContext.drawImage(state.before.bitmap, 0, 0);
  photoContext.restore();
  photoContext.fillStyle = "white";
  photoContext.fillRect(Math.round(width * split) - 1, 0, 2, height);
}

function fitToStage() {
  const stage = $("stage").getBoundingClientRect();
  const scale = Math.min((stage.width - 20) / photoCanvas.width, (stage.height - 20) / photoCanvas.height, 2);
  for (const canvas of [photoCanvas, maskCanvas]) {
    canvas.style.width = `${Math.max(1, Math.floor(photoCanvas.width * scale))}px`;
    canvas.style.height = `${Math.max(1, Math.floor(photoCanvas.height * scale))}px`;
  }
}

// Pointer position in image pixels.
function imagePoint(event) {
  const box = maskCanvas.getBoundingClientRect();
  return [(event.clientX - box.left) * maskCanvas.width / box.width,
          (event.clientY - box.top) * maskCanvas.height / box.height];
}

maskCanvas.addEventListener("pointerdown", (event) => {
  if (busy || !current() || event.button !== 0) return;
  maskCanvas.setPointerCapture(event.pointerId);
  const box = maskCanvas.getBoundingClientRect();
  const width = Number($("brush").value) * maskCanvas.width / box.width;  // brush is in screen pixels
  drawing = { erase: tool === "erase", width, points: [imagePoint(event)] };
  drawStroke(maskContext, drawing);
});

maskCanvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const point = imagePoint(event);
  drawSegment(drawing, drawing.points[drawing.points.length - 1], point);
  drawing.points.push(point);
});

function endStroke() {
  if (!drawing) return;
  const stroke = drawing;
  drawing = null;
  push({ image: current().image, strokes: [...current().strokes, stroke], before: current().before });
}
maskCanvas.addEventListener("pointerup", endStroke);
maskCanvas.addEventListener("pointercancel", endStroke);

// ---- opening a photo -----------------------------------------------------------------------

async function openPhoto(file) {
  if (!file || busy) return;
  if (file.size > limits.max_upload_bytes) {
    setStatus(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB; this server takes up to ` +
              `${(limits.max_upload_bytes / 2 ** 20).toFixed(0)} MB.`, true);
    return;
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (error) {
    setStatus(`${file.name} is not an image this browser can open.`, true);
    return;
  }
  if (bitmap.width * bitmap.height > limits.max_pixels) {
    setStatus(`${file.name} is ${bitmap.width}x${bitmap.height}; this server takes up to ` +
              `${limits.max_pixels.toLocaleString()} pixels.`, true);
    return;
  }
  history = [];
  position = -1;
  $("hint").hidden = true;
  $("canvas-box").hidden = false;
  photoCanvas.width = photoCanvas.height = 0;  // render() sizes the canvases for the new photo
  push({ image: { blob: file, bitmap, result: false }, strokes: [], before: null });
  setStatus(`${file.name}: ${bitmap.width}x${bitmap.height}. Paint over what to remove.`);
}

$("file").addEventListener("change", (event) => {
  openPhoto(event.target.files[0]);
  event.target.value = "";
});
const stage = $("stage");
stage.addEventListener("dragover", (event) => { event.preventDefault(); stage.classList.add("dragging"); });
stage.addEventListener("dragleave", () => stage.classList.remove("dragging"));
stage.addEventListener("drop", (event) => {
  event.preventDefault();
  stage.classList.remove("dragging");
  openPhoto(event.dataTransfer.files[0]);
});
window.addEventListener("resize", () => { if (current()) fitToStage(); });

// ---- inpainting ----------------------------------------------------------------------------

// The mask as the API takes it: white where anything is painted (the hole), black elsewhere.
function maskBlob() {
  const { width, height } = maskCanvas;
  const painted = maskContext.getImageData(0, 0, width, height).data;
  const out = new ImageData(width, height);
  for (let i = 0; i < painted.length; i += 4) {
    const value = painted[i + 3] > 0 ? 255 : 0;
    out.data[i] = out.data[i + 1] = out.data[i + 2] = value;
    out.data[i + 3] = 255;
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(out, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

function setBusy(on) {
  busy = on;
  $("progress").hidden = !on;
  render();
}

async function inpaint() {
  const state = current();
  if (!state || busy) return;
  const form = new FormData();
  form.append("image", state.image.blob, state.image.result ? "image.png" : state.image.blob.name || "image");
  form.append("mask", await maskBlob(), "mask.png");
  form.append("preset", $("preset").value);
  const preset = $("preset").value;
  const started = performance.now();
  const progress = $("progress");
  setBusy(true);
  let timer = null;
  const request = new XMLHttpRequest();
  request.open("POST", "api/inpaint");
  request.responseType = "blob";
  request.upload.onprogress = (event) => {
    if (!event.lengthComputable) return;
    progress.max = event.total;
    progress.value = event.loaded;
    setStatus(`Uploading… ${Math.round(100 * event.loaded / event.total)}%`);
  };
  request.upload.onload = () => {
    progress.removeAttribute("value");  // indeterminate while the model works
    const tick = () => setStatus(`Inpainting with ${preset}… ${((performance.now() - started) / 1000).toFixed(1)} s`);
    tick();
    timer = setInterval(tick, 200);
  };
  const finish = () => { clearInterval(timer); setBusy(false); };
  request.onerror = () => { finish(); setStatus("Network error: is the server still running?", true); };
  request.onload = async () => {
    if (request.status !== 200) {
      let message = `HTTP ${request.status}`;
      try { message += `: ${JSON.parse(await request.response.text()).error}`; } catch (error) { /* not JSON */ }
      finish();
      setStatus(message, true);
      return;
    }
    try {
      const blob = request.response;
      const bitmap = await createImageBitmap(blob);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      finish();
      $("compare").value = 0;
      push({ image: { blob, bitmap, result: true }, strokes: [], before: state.image });
      setStatus(`Done in ${seconds} s with ${preset}. Paint again to go on, compare with before, or download.`);
    } catch (error) {
      finish();
      setStatus(`The server's answer could not be shown: ${error}`, true);
    }
  };
  request.send(form);
}

// ---- controls ------------------------------------------------------------------------------

function setTool(name) {
  tool = name;
  $("paint").setAttribute("aria-pressed", String(name === "paint"));
  $("erase").setAttribute("aria-pressed", String(name === "erase"));
}

function undo() { if (!busy && position > 0) { position -= 1; render(); } }
function redo() { if (!busy && position < history.length - 1) { position += 1; render(); } }

$("paint").addEventListener("click", () => setTool("paint"));
$("erase").addEventListener("click", () => setTool("erase"));
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("clear").addEventListener("click", () => push({ ...current(), strokes: [] }));
$("inpaint").addEventListener("click", inpaint);
$("compare").addEventListener("input", () => { if (current()) drawPhoto(); });
$("brush").addEventListener("input", () => { $("brush-size").value = $("brush").value; });

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.type !== "range") return;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && key === "z") { event.preventDefault(); event.shiftKey ? redo() : undo(); }
  else if ((event.ctrlKey || event.metaKey) && key === "y") { event.preventDefault(); redo(); }
  else if (event.ctrlKey || event.metaKey || event.altKey) return;
  else if (key === "b") setTool("paint");
  else if (key === "e") setTool("erase");
  else if (key === "[" || key === "]") {
    const brush = $("brush");
    brush.value = Number(brush.value) + (key === "]" ? 4 : -4);
    brush.dispatchEvent(new Event("input"));
  }
});

async function loadPresets() {
  try {
    const response = await fetch("api/presets");
    const answer = await response.json();
    limits = answer.limits;
    for (const preset of answer.presets) {
      const option = document.createElement("option");
      option.value = preset.name;
      option.textContent = `${preset.name}${preset.pretrained ? "" : " (random weights)"}`;
      option.title = [preset.description, preset.license && `License: ${preset.license}`].filter(Boolean).join("\n");
      option.selected = preset.name === answer.default;
      $("preset").append(option);
    }
  } catch (error) {
    setStatus(`Could not ask the server for its presets: ${error}`, true);
  }
}

loadPresets();
render();
