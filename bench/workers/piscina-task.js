'use strict';
// The smallest piscina task: echo the argument, so a run() measures the pool's round trip.
// 'tid' asks for the pool thread's kernel thread id, so the benchmark can pin it to a CPU.
const { threadId } = require('../util');

module.exports = (value) => (value === 'tid' ? threadId() : value);
