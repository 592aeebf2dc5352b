package lock

// SetBusyHook makes lk call f each time Acquire finds a lock held.
func SetBusyHook(lk *Locker, f func()) { lk.busy = f }
