// ES module entry: re-exports the CommonJS build, so `import` and `require` share one class.
export { WorkerWaker } from './index.js';
