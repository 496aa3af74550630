// worker-waker: a cross-thread wake-up primitive for Node.js (see README.md).
export { WorkerWaker } from './waker';
