'use strict';
// The UI password: from config (env or secret file), else generated once and kept in the data volume.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const FILE_NAME = 'ui-password';

/**
 * @returns {{password: string, source: 'config'|'stored'|'generated'}}
 */
function resolvePassword(configured, dataDir, logger) {
  if (configured) return { password: configured, source: 'config' };
  const file = path.join(dataDir, FILE_NAME);
  try {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (stored) return { password: stored, source: 'stored' };
  } catch (err) {
    if (err.code !== 'ENOENT') throw new Error(`cannot read ${file}: ${err.code}`);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const password = crypto.randomBytes(18).toString('base64url');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  // Printed exactly once, when generated; later starts read the file silently.
  logger.info(`no EDGEWATCH_UI_PASSWORD given: generated UI password "${password}" (stored in ${file})`);
  return { password, source: 'generated' };
}

module.exports = { resolvePassword, FILE_NAME };
