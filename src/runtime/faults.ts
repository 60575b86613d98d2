/**
 * Crash points for crash-consistency tests. When the environment variable VCM_FAULT names a
 * point, reaching it kills the process with SIGKILL, exactly as a node failure would, so a test
 * can prove that a restart converges (e.g. a bind interrupted between its PV and claim writes).
 * Unset in production: a no-op costing one property read.
 */
export function crashPoint(name: string): void {
    if (process.env.VCM_FAULT === name) process.kill(process.pid, 'SIGKILL');
}
