'use strict';
// Entry point: config from the environment, start, stop cleanly on SIGTERM (docker stop).

const { loadConfig } = require('./config');
const { createLogger } = require('./log');
const { UiApp } = require('./app');

async function main() {
  const logger = createLogger();
  let cfg;
  try {
    cfg = loadConfig(process.env);
  } catch (err) {
    logger.error(`configuration: ${err.message}`);
    process.exit(2);
  }
  const app = new UiApp(cfg, logger);
  try {
    await app.start();
  } catch (err) {
    logger.error(`cannot start: ${err.message}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (sig) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${sig}: saving history and stopping`);
    try {
      await app.stop();
    } catch (err) {
      logger.error(`stop: ${err.message}`);
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main();
