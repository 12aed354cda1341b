// chainrule's public API in Node: everything in the browser entry, plus files and datasets.

export * from './browser.js';
export { IDX_FILE_NAMES, loadDataset, readIdxFile } from './data/datasets.js';
export { writeFileAtomic } from './io/atomic.js';
export { loadSafetensors, saveSafetensors } from './io/safetensors-file.js';
