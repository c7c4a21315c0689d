// libtorch's random generator and thread count are process-wide: a test that seeds it (manual_seed) while another
// trains would change that run's dropout draws, and determinism/resume tests compare runs to the last digit. The
// tests are CPU-bound on small machines anyway, so they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
