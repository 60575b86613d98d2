import pino from 'pino';
import type { Logger } from 'pino';

/**
 * Creates the root JSON logger. Stable keys used across the code base: `controller`, `key`,
 * `pvc`, `pv`, `node`, `driver`, `reconcileId`. Fields that could hold credentials are redacted
 * so secrets never reach a log.
 *
 * @param level pino level name
 * @param destination file descriptor or stream (default stdout)
 */
export function createLogger(level: string, destination: pino.DestinationStream | number = 1): Logger {
    return pino(
        {
            level,
            base: { component: 'volume-controller-manager' },
            timestamp: pino.stdTimeFunctions.isoTime,
            formatters: { level: (label) => ({ level: label }) },
            redact: {
                paths: ['secrets', '*.secrets', 'token', '*.token', 'authorization', '*.authorization', 'headers', '*.headers'],
                censor: '[redacted]',
            },
        },
        typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
    );
}

export type { Logger };
