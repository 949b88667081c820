import { checkPipeline } from '../../config/index.ts'
import { requiredPositional, type CommandArgs } from '../args.ts'

/** `braid validate <config>`: exit 0, or 1 with every problem listed as `path: reason`. */
export async function validateCommand (args: CommandArgs): Promise<number> {
  const path = requiredPositional(args, 0, '<config>')
  const { problems, warnings, pipeline } = await checkPipeline(path)
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`)
  if (problems.length > 0 || pipeline === undefined) {
    process.stderr.write(`${path}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`)
    for (const p of problems) process.stderr.write(`  - ${p}\n`)
    return 1
  }
  const views = [...pipeline.singleViews.keys()]
  process.stdout.write(`${path}: valid (${pipeline.projections.size} projections, ${views.length} single views: ${views.join(', ')})\n`)
  return 0
}
