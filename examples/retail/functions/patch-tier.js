// Single View Patch for the tiers projection: every view of the changed tier gets the new name and
// discount in place, without rebuilding the views.
module.exports = function patchTier (logger, tier) {
  return {
    filter: { 'tier.code': tier.tierCode },
    update: { $set: { 'tier.name': tier.name, 'tier.discountPct': tier.discountPct } }
  }
}
