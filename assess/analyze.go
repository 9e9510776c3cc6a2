package assess

import "github.com/gownscan/gown"

// Analyze is the engine's hook (probe.Config.Analyze): it fills r.Exposure
// from the records sampled from an open store and r.Signs from the result
// and the samples. The samples are read, never kept: what survives is
// counts, field names and masked examples. Exposure stays nil when nothing
// was sampled (sampling off, no sampler for the store, or an empty store
// read to the end).
func Analyze(r *gown.Result, samples []gown.Sample, truncated bool) {
	if r == nil {
		return
	}
	signs, notes := signsAndNotes(r, samples)
	if r.Status == gown.StatusOpen && (len(samples) > 0 || truncated) {
		e := &gown.Exposure{Sampled: len(samples), Truncated: truncated}
		data := make([]gown.Sample, 0, len(samples))
		for i := range samples {
			e.Bytes += int64(samples[i].Size())
			// A ransom note's contact address is the attacker's, not the
			// victims' data.
			if !notes[i] {
				data = append(data, samples[i])
			}
		}
		e.Classes = Classify(data)
		r.Exposure = e
	}
	r.Signs = signs
}
