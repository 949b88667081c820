// A customer view is kept only when it has an email: the email is its key.
module.exports = function validator (logger, singleView) {
  return typeof singleView.email === 'string' && singleView.email.trim() !== ''
}
