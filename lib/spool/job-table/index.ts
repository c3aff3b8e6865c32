export { JobTable, type JobTableProps } from "./job-table.js";
