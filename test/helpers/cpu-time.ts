// Time bounds in tests are CPU time, not wall time: a test is run beside other jobs on a shared
// machine, which stretches wall time without the code doing more work, while a hang or a
// blow-up burns CPU all the same.

/** CPU milliseconds (user + system, this process) spent since `since`, a process.cpuUsage() reading. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}
