// The judging view's pending answers (loaded before queue.js, in the same module).
//
// One list per study, dataset and rater in localStorage; every change reads the list,
// changes it and writes it back at once, so that two tabs of one rater never drop each
// other's answers (either may send them: the server stores each once).

const PREFIX = "severity-queue:v1:";

// kept in memory when the browser refuses storage
class Outbox {
  constructor() {
    this.memory = new Map();
  }
  key(config, dataset = config.dataset) {
    return `${PREFIX}${config.study}:${dataset}:${config.rater}`;
  }
  read(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "[]");
    } catch (error) {
      return this.memory.get(key) || [];
    }
  }
  write(key, events) {
    this.memory.set(key, events);
    try {
      if (events.length) localStorage.setItem(key, JSON.stringify(events));
      else localStorage.removeItem(key);
    } catch (error) {
      // private mode or a full storage: kept in memory only
    }
  }
  keys(config, mine = true) {
    const study = `${PREFIX}${config.study}:`;
    const rater = `:${config.rater}`;
    const found = new Set(this.memory.keys());
    try {
      for (let i = 0; i < localStorage.length; i++) found.add(localStorage.key(i));
    } catch (error) {
      // memory only
    }
    return [...found].filter((k) => k && k.startsWith(study) && k.endsWith(rater) === mine);
  }
  // this rater's pending events in this study, every dataset, oldest first
  pending(config) {
    const all = this.keys(config).flatMap((k) => this.read(k));
    return all.sort((a, b) => a.t - b.t);
  }
  othersPending(config) {
    return this.keys(config, false).reduce((n, k) => n + this.read(k).length, 0);
  }
  add(config, event) {
    const key = this.key(config);
    this.write(key, [...this.read(key), event]);
  }
  remove(config, ids) {
    let removed = 0;
    for (const key of this.keys(config)) {
      const events = this.read(key);
      const kept = events.filter((e) => !ids.has(e.id));
      removed += events.length - kept.length;
      if (kept.length !== events.length) this.write(key, kept);
    }
    return removed;
  }
}

