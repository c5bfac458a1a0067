// The explorer's calls to this service: JSON and .npy answers, the API's error shape,
// and the bearer token (kept in the tab's sessionStorage) when the service wants one.

export const TOKEN_KEY = "scratchnet.token";

export class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// called with the service's message on a 401, so the page can ask for a token
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

export async function api(path, init = {}) {
  const headers = new Headers(init.headers || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: "no-store" });
  if (response.ok) return response;
  let code = "http_error";
  let message = `${response.status} ${response.statusText}`;
  try {
    const error = (await response.json()).error;
    code = error.code || code;
    message = error.message || message;
  } catch (_) { /* not the API's JSON: keep the status line */ }
  if (response.status === 401) onUnauthorized(message);
  throw new ApiFailure(response.status, code, message);
}

export const getJson = async (path) => (await api(path)).json();
export const getNpy = async (path) => parseNpy(await (await api(path)).arrayBuffer());

export function modelQuery(name, version) {
  return `model=${encodeURIComponent(name)}&version=${encodeURIComponent(version)}`;
}

export function versionPath(name, version) {
  return `/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
}

export async function predict(name, version, points) {
  const response = await api(`/predict?${modelQuery(name, version)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ points }),
  });
  return response.json();
}

// A .npy file (format 1.0-3.0, C order) as {shape, data}: uint8, uint16 or float32.
export function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== "NUMPY") throw new Error("not a .npy file");
  const view = new DataView(buffer);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder("latin1").decode(bytes.subarray(start, start + headerLength));
  if (/'fortran_order':\s*True/.test(header)) throw new Error("Fortran-ordered .npy");
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
    .split(",").filter((s) => s.trim()).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  const types = { "|u1": Uint8Array, "<u2": Uint16Array, "<f4": Float32Array };
  const Type = types[descr];
  if (!Type) throw new Error(`unexpected .npy dtype ${descr}`);
  // a typed array over the buffer needs an aligned offset; numpy pads to 64 bytes
  const data = offset % Type.BYTES_PER_ELEMENT === 0
    ? new Type(buffer, offset, count)
    : new Type(buffer.slice(offset, offset + count * Type.BYTES_PER_ELEMENT));
  return { shape, data };
}
