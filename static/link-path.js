// Which way an open RTCPeerConnection goes: straight between the two ends, or through a TURN
// server (a relay candidate on either end of the selected candidate pair).

export async function isRelayed(pc) {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId) ?? pair;
  });
  if (!pair) {
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  if (!pair) return false;
  const relay = (id) => stats.get(id)?.candidateType === 'relay';
  return relay(pair.localCandidateId) || relay(pair.remoteCandidateId);
}
