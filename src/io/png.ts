// Reading a PNG as the grey pixels a classifier takes. The size is read from the header (IHDR)
// and checked before anything is decoded: a 20000x20000 image would otherwise take gigabytes
// to be told it is the wrong size.

import { PNG } from 'pngjs';
import { ChainruleError } from '../errors.js';
import { readRegularFile } from './files.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** A 28x28 PNG is a few hundred bytes; this leaves room for any metadata a program adds. */
const MAX_PNG_BYTES = 16 * 2 ** 20;

/** Width and height from the IHDR chunk that must follow the PNG signature. */
export function pngSize(bytes: Uint8Array, source: string): { width: number; height: number } {
  const isPng =
    bytes.length >= 24 &&
    SIGNATURE.every((b, i) => bytes[i] === b) &&
    String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
  if (!isPng)
    throw new ChainruleError(`${source} is not a PNG image (it lacks the PNG signature and header)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16, false), height: view.getUint32(20, false) };
}

/**
 * The image's pixels as grey bytes, row-major; alpha composites onto black. `pixels` is the
 * count the caller takes: an image of any other size is refused before it is decoded.
 */
export function readGreyPng(
  path: string,
  pixels: number,
): { pixels: Uint8Array; width: number; height: number } {
  const bytes = readRegularFile(path, { what: 'image', maxBytes: MAX_PNG_BYTES });
  const { width, height } = pngSize(bytes, path);
  const side = Math.sqrt(pixels);
  const fits = Number.isInteger(side) ? width === side && height === side : width * height === pixels;
  if (!fits) {
    const wanted = Number.isInteger(side) ? `${side}x${side}` : `${pixels} pixels`;
    throw new ChainruleError(
      `${path} is ${width}x${height}, but the model takes ${pixels} pixels (${wanted}); resize the image to ${wanted} first`,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new ChainruleError(`${path} is not a readable PNG image (${(err as Error).message})`);
  }
  const grey = new Uint8Array(width * height);
  const data = png.data;
  for (let i = 0; i < grey.length; i++) {
    const [r, g, b, a] = [data[4 * i], data[4 * i + 1], data[4 * i + 2], data[4 * i + 3]];
    grey[i] = Math.round(((0.299 * r + 0.587 * g + 0.114 * b) * a) / 255);
  }
  return { pixels: grey, width, height };
}

/**
 * The mean grey level (0-255) of the image's outer frame, `margin` pixels wide. MNIST-style
 * images are light on black, so their frame is near 0; a frame near white means a dark
 * digit on a light background, which such a model would misread.
 */
export function borderLevel(pixels: Uint8Array, width: number, height: number, margin = 2): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x < margin || y < margin || x >= width - margin || y >= height - margin) {
        sum += pixels[y * width + x];
        count++;
      }
    }
  }
  return count ? sum / count : 0;
}

/** Above this border level (of 255) an image looks like dark ink on light paper. */
const INVERTED_BORDER_LEVEL = 128;

/**
 * Refuses an image that looks inverted for a model trained on light digits (or garments) on
 * black: classifying it would answer confidently and wrongly.
 */
export function refuseInverted(
  image: { pixels: Uint8Array; width: number; height: number },
  path: string,
): void {
  const border = borderLevel(image.pixels, image.width, image.height);
  if (border > INVERTED_BORDER_LEVEL) {
    throw new ChainruleError(
      `${path} looks inverted: its border averages ${Math.round(border)} of 255, a dark digit on a light ` +
        'background, but the model was trained on light digits on black; invert the image first',
    );
  }
}
